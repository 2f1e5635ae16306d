/*
 * W3C Trace Context (traceparent, tracestate, traceresponse) and W3C Baggage
 * header values: parsing, validation and formatting.
 *
 * Pure functions: no I/O, no allocation, no global state, so they are safe
 * from any thread. Inputs are slices (pointer + length) and need not be
 * NUL-terminated; outputs go to caller storage and are written only on
 * success. Header names are the caller's business (they are
 * case-insensitive); these functions see field values only.
 *
 * Rules follow Trace Context Level 1 (W3C Recommendation) with the Level 2
 * additions (random-trace-id flag, traceresponse), and W3C Baggage.
 */
#ifndef TG_TRACECONTEXT_H
#define TG_TRACECONTEXT_H

#include <stddef.h>
#include <stdint.h>

#define TG_TRACE_ID_LEN 16
#define TG_SPAN_ID_LEN 8
#define TG_TRACE_FLAG_SAMPLED 0x01
#define TG_TRACE_FLAG_RANDOM 0x02      /* Level 2 random-trace-id flag */
#define TG_TRACEPARENT_LEN 55          /* "00-" 32 hex "-" 16 hex "-" 2 hex */

/* Trace Context limits (Level 1, "tracestate Limits"). */
#define TG_TRACESTATE_MAX_MEMBERS 32
#define TG_TRACESTATE_MIN_LIMIT 512    /* vendors SHOULD propagate at least */
#define TG_TRACESTATE_LARGE_MEMBER 128 /* members above this go first */

/* W3C Baggage limits as tracegate applies them (the spec's minimums). */
#define TG_BAGGAGE_MAX_MEMBERS 64
#define TG_BAGGAGE_MAX_BYTES 8192

struct tg_traceparent {
    uint8_t trace_id[TG_TRACE_ID_LEN];
    uint8_t span_id[TG_SPAN_ID_LEN];   /* the parent-id field */
    uint8_t flags;                     /* all 8 bits as received */
};

/*
 * Parse one traceparent field value s[0..len). Returns 0 and fills *out, or
 * TG_EPARSE and leaves *out untouched (the caller then restarts the trace).
 *
 * Leading and trailing spaces and tabs are ignored: they are HTTP optional
 * whitespace around a field value (RFC 9110 section 5.5), not part of it.
 * What remains must be lowercase hex and dashes in the version-00 layout.
 * Version "ff" is invalid. Version "00" must be exactly 55 characters. A
 * higher version is parsed as the spec's "Versioning of traceparent" says:
 * at least 55 characters, the first 55 in the version-00 layout, and if
 * longer, the 56th is '-'; the fields after it are ignored. An all-zero
 * trace-id or parent-id is invalid. The flags byte is kept whole, including
 * bits this version does not define.
 */
int tg_traceparent_parse(const char *s, size_t len, struct tg_traceparent *out);

/*
 * Write tp as a version-00 traceparent: TG_TRACEPARENT_LEN lowercase
 * characters and a NUL. Flags are written as stored; callers decide which
 * bits to keep (Level 2: keep the random bit when the trace-id is kept).
 */
void tg_traceparent_format(const struct tg_traceparent *tp,
                           char out[TG_TRACEPARENT_LEN + 1]);

/*
 * traceresponse (Level 2) has the traceparent layout, with child-id in
 * place of parent-id (stored in span_id); same rules and results as
 * tg_traceparent_parse().
 */
int tg_traceresponse_parse(const char *s, size_t len,
                           struct tg_traceparent *out);

/* Write in[0..n) as 2n lowercase hex characters and a NUL. */
void tg_hex_encode(const uint8_t *in, size_t n, char *out);

/* Bits of *result from tg_tracestate_normalize(). */
#define TG_TRACESTATE_TRUNCATED 0x1    /* whole members were removed */
#define TG_TRACESTATE_REWRITTEN 0x2    /* out is not the fields verbatim */

/*
 * Validate and prepare the tracestate to propagate. values[i][0..lens[i])
 * are the tracestate field values in arrival order; they combine as if
 * joined with ',' (RFC 9110 section 5.3), so a member never spans two
 * fields.
 *
 * Every list member must follow the Level 1 grammar: key (simple-key of up
 * to 256 characters, or tenant@system with a tenant of up to 241 and a
 * system of up to 14), '=' with no whitespace around it, and a value of 1 to
 * 256 printable ASCII characters other than ',' and '=' that does not end
 * in a space. Spaces and tabs around members are ignored and empty members
 * are allowed and dropped; at most 32 members; a key may appear only once.
 * Anything else returns TG_EPARSE: the tracestate is invalid and the caller
 * drops it entirely. limit < TG_TRACESTATE_MIN_LIMIT returns TG_ERANGE.
 *
 * On success out holds the value to propagate, NUL-terminated, at most
 * `limit` characters, and *result holds TG_TRACESTATE_* bits:
 * - Normally out is the field values that hold at least one member,
 *   joined with ',' byte for byte (so one received field comes out
 *   unchanged, whitespace and empty members included) and *result is 0.
 * - If that is longer than `limit`, out is rebuilt from the members alone,
 *   without whitespace or empty members, joined with ',' (REWRITTEN). If it
 *   is still too long, whole members are removed (TRUNCATED) in the order
 *   the spec gives: members longer than 128 characters first, from the end
 *   of the list backwards, then any member from the end backwards, each
 *   step stopping as soon as the rest fits. The leftmost members are the
 *   most recent vendors' entries and survive longest.
 * out may be empty (nothing but empty members, or every member removed);
 * the caller should then send no tracestate. Returns TG_ETOOBIG, writing
 * nothing, if the result and its NUL need more than out_cap bytes
 * (out_cap >= limit + 1 always suffices).
 */
int tg_tracestate_normalize(const char *const *values, const size_t *lens,
                            size_t n, size_t limit, char *out, size_t out_cap,
                            unsigned *result);

/*
 * Check baggage field values values[i][0..lens[i]) (arrival order, combined
 * as if joined with ','). Returns 0 if the combination follows the W3C
 * Baggage grammar (key and property names are RFC 9110 tokens, values are
 * baggage-octets, so '=' may appear in a value and '%' is taken as is:
 * percent-decoding is the consumer's business) and is within the limits:
 * at most 64 list members and at most 8192 bytes, counted as the field
 * values plus one ',' between each two. Whitespace around members, '=', ';'
 * and ',' is allowed, and so are empty list members (RFC 9110 section
 * 5.6.1.2: recipients ignore them). Returns TG_ETOOBIG over the byte
 * limit (checked before the grammar), else TG_EPARSE when malformed, else
 * TG_ETOOBIG over the member limit; the caller forwards the fields
 * untouched on 0 and drops them otherwise.
 */
int tg_baggage_check(const char *const *values, const size_t *lens, size_t n);

#endif
