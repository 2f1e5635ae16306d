"""Print sampler comparison cases, one "<32-hex trace id> <rate>" a line.

The set is the same on every run (fixed seed): random trace ids, and edge
ids whose last 8 bytes sit on the boundaries of the ratio decision, each
paired with every rate below; each random id also gets one random rate.
Usage: gen_cases.py [random id count]  (default 10000)
"""

import random
import sys
from fractions import Fraction

SEED = 0x7472616365  # fixed so that a failure can be reproduced
U64 = (1 << 64) - 1

RATES = [
    0.0, 1e-9, 0.0001, 0.1, 0.25, 0.3333333333333333, 0.5, 0.999999, 1.0,
    # more edges: just below 1 (1 - 2^-53), 2^-63 (bound 1), below 2^-63
    # (bound 0), the smallest subnormal, and two ordinary ones
    1 - 1e-16, 2.0 ** -63, 1e-19, 5e-324, 0.01, 0.75,
]


def bound(rate):
    """The ratio decision's bound, rate * 2^63 rounded toward zero, from the
    rate's exact binary value. Used only to place edge ids around it."""
    return int(Fraction(rate) * (1 << 63))


def edge_lows():
    lows = {0, 1, 2, 3, U64, U64 - 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
            0x8000000000000001, 0x7FFFFFFFFFFFFFFE}
    for rate in RATES:
        if not 0.0 < rate < 1.0:
            continue
        b = bound(rate)
        # The decision compares (low >> 1) with the bound: these are the
        # lows whose half is exactly at it (not sampled) and one below it
        # (sampled), both parities.
        for low in (2 * b - 2, 2 * b - 1, 2 * b, 2 * b + 1):
            if 0 <= low <= U64:
                lows.add(low)
    return sorted(lows)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    rng = random.Random(SEED)
    out = []

    # Edge ids under a few first halves, including all-zero and all-one; an
    # all-zero trace id is invalid (W3C Trace Context) and left out.
    highs = [0, 1, U64, rng.getrandbits(64), rng.getrandbits(64)]
    for high in highs:
        for low in edge_lows():
            if high == 0 and low == 0:
                continue
            for rate in RATES:
                out.append("%016x%016x %r" % (high, low, rate))

    for _ in range(count):
        tid = 0
        while tid == 0:
            tid = rng.getrandbits(128)
        for rate in RATES:
            out.append("%032x %r" % (tid, rate))
        # One random rate per id: uniform in [0, 1), or small (10^-12..1).
        if rng.random() < 0.5:
            rate = rng.random()
        else:
            rate = 10.0 ** rng.uniform(-12.0, 0.0)
        out.append("%032x %r" % (tid, rate))

    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
