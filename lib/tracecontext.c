#include "tracecontext.h"

#include "error.h"

#include <stdbool.h>
#include <string.h>

/* HTTP optional whitespace (RFC 9110 section 5.6.3): SP and HTAB only. */
static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Narrow s[0..*len) to exclude leading and trailing OWS. */
static const char *trim_ows(const char *s, size_t *len)
{
    size_t n = *len;

    while (n > 0 && is_ows(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_ows(s[n - 1])) {
        n--;
    }
    *len = n;
    return s;
}

/* Value of a HEXDIGLC character, or -1: Trace Context allows lowercase
 * only, so "0A" is as invalid as "0g". */
static int hexdiglc(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Decode 2n HEXDIGLC characters into out[0..n). Returns false on any other
 * character; out may then be partly written. */
static bool hex_decode(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexdiglc(s[2 * i]);
        int lo = hexdiglc(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

void tg_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/*
 * Offsets in the version-00 layout:
 *   0  version (2)   2 '-'   3 trace-id (32)   35 '-'
 *   36 parent-id (16)        52 '-'            53 flags (2)   55 end
 */
enum {
    TP_TRACE_ID = 3,
    TP_DASH2 = 35,
    TP_PARENT_ID = 36,
    TP_DASH3 = 52,
    TP_FLAGS = 53,
};

int tg_traceparent_parse(const char *s, size_t len, struct tg_traceparent *out)
{
    struct tg_traceparent tp;
    uint8_t version;

    s = trim_ows(s, &len);
    /* "When the version prefix cannot be parsed (it's not 2 hex characters
     * followed by a dash), the implementation should restart the trace." */
    if (len < 3 || !hex_decode(s, 1, &version) || s[2] != '-') {
        return TG_EPARSE;
    }
    if (version == 0xff) {
        return TG_EPARSE;
    }
    /* Version 00 is exactly 55 characters. A higher version is additive:
     * shorter than 55 is invalid, longer must continue with a dash, and
     * what follows that dash is not ours to parse. */
    if (version == 0x00) {
        if (len != TG_TRACEPARENT_LEN) {
            return TG_EPARSE;
        }
    } else if (len < TG_TRACEPARENT_LEN ||
               (len > TG_TRACEPARENT_LEN && s[TG_TRACEPARENT_LEN] != '-')) {
        return TG_EPARSE;
    }
    if (s[TP_DASH2] != '-' || s[TP_DASH3] != '-') {
        return TG_EPARSE;
    }
    if (!hex_decode(s + TP_TRACE_ID, TG_TRACE_ID_LEN, tp.trace_id) ||
        !hex_decode(s + TP_PARENT_ID, TG_SPAN_ID_LEN, tp.span_id) ||
        !hex_decode(s + TP_FLAGS, 1, &tp.flags)) {
        return TG_EPARSE;
    }
    /* All-zero ids are invalid; vendors MUST ignore the traceparent. */
    if (all_zero(tp.trace_id, TG_TRACE_ID_LEN) ||
        all_zero(tp.span_id, TG_SPAN_ID_LEN)) {
        return TG_EPARSE;
    }
    *out = tp;
    return 0;
}

int tg_traceresponse_parse(const char *s, size_t len,
                           struct tg_traceparent *out)
{
    return tg_traceparent_parse(s, len, out);
}

void tg_traceparent_format(const struct tg_traceparent *tp,
                           char out[TG_TRACEPARENT_LEN + 1])
{
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    tg_hex_encode(tp->trace_id, TG_TRACE_ID_LEN, out + TP_TRACE_ID);
    out[TP_DASH2] = '-';
    tg_hex_encode(tp->span_id, TG_SPAN_ID_LEN, out + TP_PARENT_ID);
    out[TP_DASH3] = '-';
    tg_hex_encode(&tp->flags, 1, out + TP_FLAGS);
}

/* ---- tracestate ---------------------------------------------------- */

/* Longest member: a 256-character key, '=', a 256-character value. */
#define TS_MAX_KEY 256
#define TS_MAX_VALUE 256
#define TS_MAX_TENANT 241
#define TS_MAX_SYSTEM 14

struct ts_member {
    const char *p;      /* "key=value", OWS already trimmed */
    size_t len;
    size_t key_len;
};

static bool is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Characters after the first in simple-key, tenant-id and system-id. */
static bool is_keychar(char c)
{
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' ||
           c == '*' || c == '/';
}

/*
 * Level 1 key grammar:
 *   simple-key       = lcalpha 0*255( keychar )
 *   multi-tenant-key = tenant-id "@" system-id
 *   tenant-id        = ( lcalpha / DIGIT ) 0*240( keychar )
 *   system-id        = lcalpha 0*13( keychar )
 */
static bool ts_key_valid(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);

    if (at == NULL) {
        if (n == 0 || n > TS_MAX_KEY || !is_lcalpha(k[0])) {
            return false;
        }
        for (size_t i = 1; i < n; i++) {
            if (!is_keychar(k[i])) {
                return false;
            }
        }
        return true;
    }
    size_t tenant = (size_t)(at - k);
    size_t system = n - tenant - 1;
    if (tenant == 0 || tenant > TS_MAX_TENANT || system == 0 ||
        system > TS_MAX_SYSTEM) {
        return false;
    }
    if (!is_lcalpha(k[0]) && !is_digit(k[0])) {
        return false;
    }
    if (!is_lcalpha(at[1])) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        /* a second '@' fails here too */
        if (i != tenant && i != tenant + 1 && !is_keychar(k[i])) {
            return false;
        }
    }
    return true;
}

/*
 *   value    = 0*255(chr) nblk-chr
 *   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E     (printable, not ',' or '=')
 *   chr      = %x20 / nblk-chr
 * Leading spaces belong to the value; trailing ones were trimmed as OWS.
 */
static bool ts_value_valid(const char *v, size_t n)
{
    if (n == 0 || n > TS_MAX_VALUE || v[n - 1] == ' ') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
            return false;
        }
    }
    return true;
}

/* Validate one trimmed, non-empty list member and fill *m. */
static bool ts_member_parse(const char *p, size_t len, struct ts_member *m)
{
    const char *eq = memchr(p, '=', len);

    if (eq == NULL) {
        return false;
    }
    size_t key_len = (size_t)(eq - p);
    if (!ts_key_valid(p, key_len) ||
        !ts_value_valid(eq + 1, len - key_len - 1)) {
        return false;
    }
    m->p = p;
    m->len = len;
    m->key_len = key_len;
    return true;
}

/* Whether a field that already passed validation holds a list member:
 * anything but OWS and ',' belongs to one. */
static bool ts_field_has_member(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_ows(s[i]) && s[i] != ',') {
            return true;
        }
    }
    return false;
}

/* Length of the kept members joined with ','. */
static size_t ts_joined_len(const struct ts_member *m, const bool *keep,
                            size_t count)
{
    size_t total = 0, kept = 0;

    for (size_t i = 0; i < count; i++) {
        if (keep[i]) {
            total += m[i].len;
            kept++;
        }
    }
    return kept > 0 ? total + kept - 1 : 0;
}

int tg_tracestate_normalize(const char *const *values, const size_t *lens,
                            size_t n, size_t limit, char *out, size_t out_cap,
                            unsigned *result)
{
    struct ts_member m[TG_TRACESTATE_MAX_MEMBERS];
    bool keep[TG_TRACESTATE_MAX_MEMBERS];
    size_t count = 0;
    size_t verbatim_len = 0, verbatim_fields = 0;
    unsigned flags = 0;

    if (limit < TG_TRACESTATE_MIN_LIMIT) {
        return TG_ERANGE;
    }
    for (size_t f = 0; f < n; f++) {
        const char *s = values[f], *end;

        if (lens[f] == 0) {
            continue;
        }
        end = s + lens[f];
        /* ',' cannot occur inside a key or value, so it always splits. */
        for (;;) {
            const char *comma = memchr(s, ',', (size_t)(end - s));
            const char *stop = comma != NULL ? comma : end;
            size_t len = (size_t)(stop - s);
            const char *p = trim_ows(s, &len);

            if (len > 0) {
                if (count == TG_TRACESTATE_MAX_MEMBERS ||
                    !ts_member_parse(p, len, &m[count])) {
                    return TG_EPARSE;
                }
                count++;
            }
            if (stop == end) {
                break;
            }
            s = stop + 1;
        }
        if (ts_field_has_member(values[f], lens[f])) {
            verbatim_len += lens[f] + (verbatim_fields > 0 ? 1 : 0);
            verbatim_fields++;
        }
    }
    /* "Only one entry per key is allowed": a repeated key makes the whole
     * tracestate invalid rather than picking one of the entries. */
    for (size_t i = 0; i < count; i++) {
        for (size_t j = i + 1; j < count; j++) {
            if (m[i].key_len == m[j].key_len &&
                memcmp(m[i].p, m[j].p, m[i].key_len) == 0) {
                return TG_EPARSE;
            }
        }
    }

    size_t out_len;
    if (verbatim_len <= limit) {
        out_len = verbatim_len;
    } else {
        for (size_t i = 0; i < count; i++) {
            keep[i] = true;
        }
        flags |= TG_TRACESTATE_REWRITTEN;
        out_len = ts_joined_len(m, keep, count);
        /* Level 1 "tracestate Limits": truncate whole entries; entries
         * larger than 128 characters first, then from the end. */
        for (size_t i = count; i-- > 0 && out_len > limit;) {
            if (m[i].len > TG_TRACESTATE_LARGE_MEMBER) {
                keep[i] = false;
                flags |= TG_TRACESTATE_TRUNCATED;
                out_len = ts_joined_len(m, keep, count);
            }
        }
        for (size_t i = count; i-- > 0 && out_len > limit;) {
            if (keep[i]) {
                keep[i] = false;
                flags |= TG_TRACESTATE_TRUNCATED;
                out_len = ts_joined_len(m, keep, count);
            }
        }
    }
    if (out_len >= out_cap) {
        return TG_ETOOBIG;
    }

    size_t pos = 0;
    if (!(flags & TG_TRACESTATE_REWRITTEN)) {
        /* Byte for byte: one received field is forwarded unchanged. */
        for (size_t f = 0; f < n; f++) {
            if (!ts_field_has_member(values[f], lens[f])) {
                continue;
            }
            if (pos > 0) {
                out[pos++] = ',';
            }
            memcpy(out + pos, values[f], lens[f]);
            pos += lens[f];
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            if (!keep[i]) {
                continue;
            }
            if (pos > 0) {
                out[pos++] = ',';
            }
            memcpy(out + pos, m[i].p, m[i].len);
            pos += m[i].len;
        }
    }
    out[pos] = '\0';
    *result = flags;
    return 0;
}

/* ---- baggage ------------------------------------------------------- */

/* tchar (RFC 9110 section 5.6.2). */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
 * (visible ASCII but DQUOTE, ',', ';' and '\'). */
static bool is_baggage_octet(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' &&
           c != '\\';
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && is_ows(*p)) {
        p++;
    }
    return p;
}

/* 1*tchar; returns the position after it, or NULL if there is none. */
static const char *skip_token(const char *p, const char *end)
{
    const char *start = p;

    while (p < end && is_tchar((unsigned char)*p)) {
        p++;
    }
    return p > start ? p : NULL;
}

static const char *skip_value(const char *p, const char *end)
{
    while (p < end && is_baggage_octet((unsigned char)*p)) {
        p++;
    }
    return p;
}

/*
 * One list member at p, up to the next ',' or end:
 *   list-member = key OWS "=" OWS value *( OWS ";" OWS property )
 *   property    = key OWS "=" OWS value / key OWS
 * Returns the position of the ',' or end that follows, or NULL if
 * malformed; *empty tells whether the member was empty (OWS only).
 */
static const char *baggage_member(const char *p, const char *end, bool *empty)
{
    p = skip_ows(p, end);
    *empty = p == end || *p == ',';
    if (*empty) {
        return p;
    }
    p = skip_token(p, end);
    if (p == NULL) {
        return NULL;
    }
    p = skip_ows(p, end);
    if (p == end || *p != '=') {
        return NULL;
    }
    p = skip_value(skip_ows(p + 1, end), end);
    for (;;) {
        p = skip_ows(p, end);
        if (p == end || *p != ';') {
            break;
        }
        p = skip_token(skip_ows(p + 1, end), end);
        if (p == NULL) {
            return NULL;
        }
        p = skip_ows(p, end);
        if (p < end && *p == '=') {
            p = skip_value(skip_ows(p + 1, end), end);
        }
    }
    return p == end || *p == ',' ? p : NULL;
}

int tg_baggage_check(const char *const *values, const size_t *lens, size_t n)
{
    size_t bytes = 0, members = 0;

    /* Size first: it needs no parsing and bounds the work below. */
    for (size_t f = 0; f < n; f++) {
        bytes += lens[f] + (f > 0 ? 1 : 0);
        if (bytes > TG_BAGGAGE_MAX_BYTES) {
            return TG_ETOOBIG;
        }
    }
    for (size_t f = 0; f < n; f++) {
        const char *p = values[f], *end;

        if (lens[f] == 0) {
            continue;   /* an empty field holds one empty member */
        }
        end = p + lens[f];
        for (;;) {
            bool empty;
            p = baggage_member(p, end, &empty);
            if (p == NULL) {
                return TG_EPARSE;
            }
            members += empty ? 0 : 1;
            if (p == end) {
                break;
            }
            p++; /* the ',' */
        }
    }
    return members > TG_BAGGAGE_MAX_MEMBERS ? TG_ETOOBIG : 0;
}
