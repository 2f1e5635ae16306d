"""Deterministic body bytes shared by the test upstream and the integration tests.

Byte i of every generated body is BLOCK[i % BLOCK_LEN]. The block length is
deliberately not a power of two, so a proxy that drops, repeats or reorders a
buffer-sized slice of a stream changes the hash instead of hiding the mistake
behind a period that lines up with its own buffer size.
"""

import functools
import hashlib
import random

BLOCK_LEN = 1048583
_BLOCK = random.Random(0x7472616365).randbytes(BLOCK_LEN)
# Twice the block, so any slice of up to BLOCK_LEN bytes starting anywhere in
# the block is one contiguous memoryview: no copies while streaming a GiB.
_DOUBLE = memoryview(_BLOCK + _BLOCK)

MAX_SLICE = BLOCK_LEN


def slices(n, size=1 << 20):
    """Yield memoryviews that together are bytes [0, n) of the pattern."""
    size = min(size, MAX_SLICE)
    pos = 0
    while pos < n:
        off = pos % BLOCK_LEN
        k = min(size, n - pos)
        yield _DOUBLE[off:off + k]
        pos += k


def at(pos, k):
    """Bytes [pos, pos + k) of the pattern as a memoryview; k <= MAX_SLICE."""
    off = pos % BLOCK_LEN
    return _DOUBLE[off:off + k]


def data(n):
    """Bytes [0, n) of the pattern as one bytes object (for small n)."""
    return b"".join(slices(n))


@functools.lru_cache(maxsize=None)
def sha256(n):
    """Hex sha256 of bytes [0, n) of the pattern."""
    h = hashlib.sha256()
    for s in slices(n):
        h.update(s)
    return h.hexdigest()
