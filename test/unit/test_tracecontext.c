/*
 * Trace Context and Baggage: the examples and edge cases of the W3C texts
 * (Trace Context Level 1 and 2, Baggage), the W3C test-suite's cases as our
 * own, and edge cases of our own.
 */
#include "error.h"
#include "test.h"
#include "tracecontext.h"

#include <stdbool.h>
#include <stdint.h>

/* the ids of the W3C test harness */
#define TID "12345678901234567890123456789012"
#define PID "1234567890123456"
/* the ids of the spec's examples */
#define SPEC_TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPEC_PID "00f067aa0ba902b7"

static int tp_parse(const char *s, struct tg_traceparent *out)
{
    return tg_traceparent_parse(s, strlen(s), out);
}

static bool tp_valid(const char *s)
{
    struct tg_traceparent tp;
    return tp_parse(s, &tp) == 0;
}

static const char *hex(const uint8_t *p, size_t n)
{
    static char buf[2 * 64 + 1];
    tg_hex_encode(p, n, buf);
    return buf;
}

static char *fill(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- traceparent --------------------------------------------------- */

static void traceparent_spec_examples(void)
{
    struct tg_traceparent tp;

    /* "Valid traceparent when caller sampled this request" */
    CHECK(tp_parse("00-" SPEC_TID "-" SPEC_PID "-01", &tp) == 0);
    CHECK_STR(hex(tp.trace_id, TG_TRACE_ID_LEN), SPEC_TID);
    CHECK_STR(hex(tp.span_id, TG_SPAN_ID_LEN), SPEC_PID);
    CHECK(tp.flags == 0x01);
    CHECK(tp.trace_id[0] == 0x4b && tp.trace_id[15] == 0x36);
    CHECK(tp.span_id[0] == 0x00 && tp.span_id[7] == 0xb7);

    /* "... when caller didn't sample this request" */
    CHECK(tp_parse("00-" SPEC_TID "-" SPEC_PID "-00", &tp) == 0);
    CHECK(tp.flags == 0x00);

    /* the Congo/Rojo walk-through */
    CHECK(tp_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    CHECK(tp_valid("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"));
    CHECK(tp_valid("00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01"));
}

static void traceparent_flags_kept_whole(void)
{
    struct tg_traceparent tp;

    /* Level 2: the second least significant bit is random-trace-id. */
    CHECK(tp_parse("00-" TID "-" PID "-03", &tp) == 0);
    CHECK(tp.flags == (TG_TRACE_FLAG_SAMPLED | TG_TRACE_FLAG_RANDOM));
    CHECK(tp_parse("00-" TID "-" PID "-02", &tp) == 0);
    CHECK((tp.flags & TG_TRACE_FLAG_SAMPLED) == 0);
    CHECK((tp.flags & TG_TRACE_FLAG_RANDOM) != 0);
    /* the spec's masking example: 09 is sampled plus an undefined bit */
    CHECK(tp_parse("00-" TID "-" PID "-09", &tp) == 0);
    CHECK(tp.flags == 0x09);
    CHECK((tp.flags & TG_TRACE_FLAG_SAMPLED) != 0);
    /* "all 8 flags set would be ff": undefined bits are not an error */
    CHECK(tp_parse("00-" TID "-" PID "-ff", &tp) == 0);
    CHECK(tp.flags == 0xff);
    CHECK(tp_parse("00-" TID "-" PID "-80", &tp) == 0);
    CHECK(tp.flags == 0x80);
}

static void traceparent_format_round_trip(void)
{
    const char *in[] = {
        "00-" SPEC_TID "-" SPEC_PID "-01",
        "00-" TID "-" PID "-00",
        "00-" TID "-" PID "-03",
        "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-ff",
        "00-00000000000000000000000000000001-0000000000000001-00",
    };
    char out[TG_TRACEPARENT_LEN + 1];

    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct tg_traceparent tp, again;
        CHECK(tp_parse(in[i], &tp) == 0);
        memset(out, 'x', sizeof(out));
        tg_traceparent_format(&tp, out);
        CHECK(out[TG_TRACEPARENT_LEN] == '\0');
        CHECK_STR(out, in[i]);
        CHECK(tp_parse(out, &again) == 0);
        CHECK(memcmp(&tp, &again, sizeof(tp)) == 0);
    }
}

static void traceparent_format_from_struct(void)
{
    struct tg_traceparent tp = {
        .trace_id = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                     0x01},
        .span_id = {0xca, 0xfe, 0, 0, 0, 0, 0, 0x0a},
        .flags = TG_TRACE_FLAG_SAMPLED | TG_TRACE_FLAG_RANDOM,
    };
    char out[TG_TRACEPARENT_LEN + 1];

    tg_traceparent_format(&tp, out);
    CHECK_STR(out, "00-deadbeef000000000000000000000001-cafe00000000000a-03");
    CHECK(strlen(out) == TG_TRACEPARENT_LEN);
}

static void traceparent_higher_versions(void)
{
    struct tg_traceparent tp, v00;

    CHECK(tp_parse("00-" TID "-" PID "-01", &v00) == 0);
    /* W3C test suite: future version 0xcc */
    CHECK(tp_parse("cc-" TID "-" PID "-01", &tp) == 0);
    CHECK(memcmp(&tp, &v00, sizeof(tp)) == 0);
    CHECK(tp_parse("cc-" TID "-" PID "-01-what-the-future-will-be-like",
                   &tp) == 0);
    CHECK(memcmp(&tp, &v00, sizeof(tp)) == 0);
    /* after the flags comes a dash, or nothing */
    CHECK(!tp_valid("cc-" TID "-" PID "-01.what-the-future-will-be-like"));
    CHECK(!tp_valid("cc-" TID "-" PID "-01x"));
    CHECK(!tp_valid("cc-" TID "-" PID "-011"));
    CHECK(tp_valid("cc-" TID "-" PID "-01-"));
    CHECK(tp_valid("01-" TID "-" PID "-01-00"));
    CHECK(tp_valid("fe-" TID "-" PID "-01-anything at all, even spaces"));
    /* the first 55 still follow the version-00 rules */
    CHECK(!tp_valid("cc-" TID "-" PID "-0"));  /* shorter than 55 */
    CHECK(!tp_valid("cc-" TID "-" PID "-0-"));
    CHECK(!tp_valid("cc-" TID "-" PID "-0A-"));
    CHECK(!tp_valid("cc-00000000000000000000000000000000-" PID "-01"));
    CHECK(!tp_valid("cc-" TID "-0000000000000000-01"));
    /* the flags byte of a higher version is kept whole too */
    CHECK(tp_parse("cc-" TID "-" PID "-ff-x", &tp) == 0);
    CHECK(tp.flags == 0xff);
    /* version ff is forbidden, whatever follows */
    CHECK(!tp_valid("ff-" TID "-" PID "-01"));
    CHECK(!tp_valid("ff-" TID "-" PID "-01-what-the-future-will-be-like"));
}

static void traceparent_version_00_is_exactly_55(void)
{
    char buf[80];
    const char *good = "00-" TID "-" PID "-01";

    CHECK(strlen(good) == TG_TRACEPARENT_LEN);
    CHECK(tp_valid(good));
    /* 54: one short */
    CHECK(tg_traceparent_parse(good, 54, &(struct tg_traceparent){0}) ==
          TG_EPARSE);
    /* 56: one extra, whatever it is */
    snprintf(buf, sizeof(buf), "%s-", good);
    CHECK(!tp_valid(buf));
    snprintf(buf, sizeof(buf), "%s0", good);
    CHECK(!tp_valid(buf));
    /* W3C test suite */
    CHECK(!tp_valid("00-" TID "-" PID "-01."));
    CHECK(!tp_valid("00-" TID "-" PID "-01-what-the-future-will-be-like"));
}

static void traceparent_version_field(void)
{
    /* W3C test suite */
    CHECK(!tp_valid(".0-" TID "-" PID "-01"));
    CHECK(!tp_valid("0.-" TID "-" PID "-01"));
    CHECK(!tp_valid("000-" TID "-" PID "-01"));
    CHECK(!tp_valid("0000-" TID "-" PID "-01"));
    CHECK(!tp_valid("0-" TID "-" PID "-01"));
    /* lowercase hex only, here too */
    CHECK(!tp_valid("0A-" TID "-" PID "-01"));
    CHECK(!tp_valid("CC-" TID "-" PID "-01"));
    CHECK(!tp_valid("FF-" TID "-" PID "-01"));
    CHECK(!tp_valid("-" TID "-" PID "-01"));
    CHECK(!tp_valid(""));
    CHECK(!tp_valid("00"));
    CHECK(!tp_valid("00-"));
    CHECK(!tp_valid("cc-"));
}

static void traceparent_trace_id_field(void)
{
    /* W3C test suite */
    CHECK(!tp_valid("00-00000000000000000000000000000000-" PID "-01"));
    CHECK(!tp_valid("00-.2345678901234567890123456789012-" PID "-01"));
    CHECK(!tp_valid("00-1234567890123456789012345678901.-" PID "-01"));
    CHECK(!tp_valid("00-123456789012345678901234567890123-" PID "-01"));
    CHECK(!tp_valid("00-1234567890123456789012345678901-" PID "-01"));
    /* uppercase and non-hex */
    CHECK(!tp_valid("00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01"));
    CHECK(!tp_valid("00-4bf92f3577b34da6a3ce929d0e0e473A-" PID "-01"));
    CHECK(!tp_valid("00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01"));
    CHECK(!tp_valid("00-4bf92f3577b34da6 3ce929d0e0e4736-" PID "-01"));
    /* one non-zero byte anywhere is enough */
    CHECK(tp_valid("00-00000000000000000000000000000001-" PID "-01"));
    CHECK(tp_valid("00-10000000000000000000000000000000-" PID "-01"));
}

static void traceparent_parent_id_field(void)
{
    /* W3C test suite */
    CHECK(!tp_valid("00-" TID "-0000000000000000-01"));
    CHECK(!tp_valid("00-" TID "-.234567890123456-01"));
    CHECK(!tp_valid("00-" TID "-123456789012345.-01"));
    CHECK(!tp_valid("00-" TID "-12345678901234567-01"));
    CHECK(!tp_valid("00-" TID "-123456789012345-01"));
    CHECK(!tp_valid("00-" TID "-00F067AA0BA902B7-01"));
    CHECK(tp_valid("00-" TID "-0000000000000001-01"));
}

static void traceparent_flags_field(void)
{
    /* W3C test suite */
    CHECK(!tp_valid("00-" TID "-" PID "-.0"));
    CHECK(!tp_valid("00-" TID "-" PID "-0."));
    CHECK(!tp_valid("00-" TID "-" PID "-001"));
    CHECK(!tp_valid("00-" TID "-" PID "-1"));
    CHECK(!tp_valid("00-" TID "-" PID "-0A"));
    CHECK(!tp_valid("00-" TID "-" PID "-FF"));
    CHECK(!tp_valid("00-" TID "-" PID "-"));
    CHECK(!tp_valid("00-" TID "-" PID));
}

static void traceparent_dash_positions(void)
{
    char buf[64];
    const char *good = "00-" TID "-" PID "-01";
    const size_t dashes[] = {2, 35, 52};

    for (size_t i = 0; i < 3; i++) {
        strcpy(buf, good);
        buf[dashes[i]] = '_';
        CHECK(!tp_valid(buf));
        buf[dashes[i]] = '0';
        CHECK(!tp_valid(buf));
    }
    /* the right length with the dashes shifted */
    CHECK(!tp_valid("00-" "1234567890123456789012345678901" "-"
                    "12345678901234567" "-01"));
    CHECK(!tp_valid("00-" TID "-" "123456789012345" "-" "001"));
    CHECK(!tp_valid("00" "-" "-" "1234567890123456789012345678901" "-" PID
                    "-01"));
    /* other separators */
    CHECK(!tp_valid("00_" TID "_" PID "_01"));
    CHECK(!tp_valid("00 " TID " " PID " 01"));
}

static void traceparent_surrounding_ows(void)
{
    struct tg_traceparent tp;

    /* W3C test suite: leading and trailing OWS is not part of the value */
    CHECK(tp_parse(" 00-" TID "-" PID "-01", &tp) == 0);
    CHECK_STR(hex(tp.trace_id, TG_TRACE_ID_LEN), TID);
    CHECK(tp_valid("\t00-" TID "-" PID "-01"));
    CHECK(tp_valid("00-" TID "-" PID "-01 "));
    CHECK(tp_valid("00-" TID "-" PID "-01\t"));
    CHECK(tp_valid("\t 00-" TID "-" PID "-01 \t"));
    CHECK(tp_valid("   \t\t00-" TID "-" PID "-01\t\t   "));
    CHECK(tp_valid(" cc-" TID "-" PID "-01-future "));
    /* OWS is spaces and tabs only, and only around the value */
    CHECK(!tp_valid("00-" TID "-" PID "-01\r\n"));
    CHECK(!tp_valid("\n00-" TID "-" PID "-01"));
    CHECK(!tp_valid("\v00-" TID "-" PID "-01"));
    CHECK(!tp_valid("00- " TID "-" PID "-01"));
    CHECK(!tp_valid("00-" TID " -" PID "-01"));
    CHECK(!tp_valid("00-" TID "-" PID "- 01"));
    CHECK(!tp_valid(" "));
    CHECK(!tp_valid("\t \t"));
}

static void traceparent_embedded_nul(void)
{
    struct tg_traceparent tp;
    char buf[64];
    const char *good = "00-" TID "-" PID "-01";

    memcpy(buf, good, 55);
    buf[20] = '\0';
    CHECK(tg_traceparent_parse(buf, 55, &tp) == TG_EPARSE);
    /* a NUL after a valid value is an extra character, not an end */
    memcpy(buf, good, 55);
    buf[55] = '\0';
    CHECK(tg_traceparent_parse(buf, 56, &tp) == TG_EPARSE);
    memcpy(buf, "cc", 2);
    CHECK(tg_traceparent_parse(buf, 56, &tp) == TG_EPARSE);
    /* the length is what counts, not a NUL: a prefix is too short */
    CHECK(tg_traceparent_parse(good, 0, &tp) == TG_EPARSE);
}

static void traceparent_failure_leaves_out_alone(void)
{
    struct tg_traceparent tp, before;

    memset(&tp, 0x5a, sizeof(tp));
    before = tp;
    CHECK(tp_parse("00-" TID "-0000000000000000-01", &tp) == TG_EPARSE);
    CHECK(tp_parse("00-" TID "-" PID "-0g", &tp) == TG_EPARSE);
    CHECK(memcmp(&tp, &before, sizeof(tp)) == 0);
}

static void traceresponse_same_rules(void)
{
    struct tg_traceparent tr, tp;
    const char *s = "00-" SPEC_TID "-b7ad6b7169203331-03";

    CHECK(tg_traceresponse_parse(s, strlen(s), &tr) == 0);
    CHECK(tp_parse(s, &tp) == 0);
    CHECK(memcmp(&tr, &tp, sizeof(tr)) == 0);
    CHECK_STR(hex(tr.span_id, TG_SPAN_ID_LEN), "b7ad6b7169203331");
    CHECK(tr.flags == 0x03);

    const char *bad[] = {
        "00-" SPEC_TID "-0000000000000000-01",   /* all-zero child-id */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "ff-" SPEC_TID "-b7ad6b7169203331-01",
        "00-" SPEC_TID "-B7AD6B7169203331-01",
        "00-" SPEC_TID "-b7ad6b7169203331-01-x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(tg_traceresponse_parse(bad[i], strlen(bad[i]), &tr) ==
              TG_EPARSE);
    }
    s = " cc-" SPEC_TID "-b7ad6b7169203331-01-later ";
    CHECK(tg_traceresponse_parse(s, strlen(s), &tr) == 0);
}

static void hex_encode(void)
{
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];

    tg_hex_encode(in, sizeof(in), out);
    CHECK_STR(out, "00017f80abff");
    memset(out, 'x', sizeof(out));
    tg_hex_encode(in, 0, out);
    CHECK_STR(out, "");
}

/* ---- tracestate ---------------------------------------------------- */

static char ts_out[16384];
static unsigned ts_res;

/* Normalize n values (NUL-terminated strings) with the given limit; the
 * result is in ts_out / ts_res. */
static int ts_n(size_t n, const char *const *v, size_t limit)
{
    size_t lens[64];

    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(v[i]);
    }
    memset(ts_out, 0, sizeof(ts_out));
    ts_res = 0xdead;
    return tg_tracestate_normalize(v, lens, n, limit, ts_out, sizeof(ts_out),
                                   &ts_res);
}

static int ts1(const char *v)
{
    return ts_n(1, &v, 512);
}

/* Valid and forwarded unchanged. */
static bool ts_same(const char *v)
{
    return ts1(v) == 0 && ts_res == 0 && strcmp(ts_out, v) == 0;
}

static void tracestate_spec_examples(void)
{
    CHECK(ts_same("congo=t61rcWkgMzE"));
    CHECK(ts_same("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    CHECK(ts_same("congo=ucfJifl5GOE,rojo=00f067aa0ba902b7"));
    CHECK(ts_same("rojo=00f067aa0ba902b7"));
    CHECK(ts_same("vendorname1=opaqueValue1,vendorname2=opaqueValue2"));
    CHECK(ts_same("rojo=00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7"
                  "-01,congo=BleGNlZWRzIHRohbCBwbGVhc3VyZS4"));
    /* "Only one entry per key is allowed" */
    CHECK(ts1("congo=congosFirstPosition,rojo=rojosFirstPosition,"
              "congo=congosSecondPosition") == TG_EPARSE);
    CHECK(ts_same("congo=congosSecondPosition,rojo=rojosFirstPosition"));
    /* base64 padding: '=' is not allowed in a value */
    CHECK(ts1("congo=BleGNlZWRzIHRohbCBwbGVhc3VyZS4=") == TG_EPARSE);
}

static void tracestate_multiple_fields_combine(void)
{
    const char *v[] = {"foo=1,bar=2", "rojo=1,congo=2", "baz=3"};

    /* W3C test suite: order is kept across fields */
    CHECK(ts_n(3, v, 512) == 0);
    CHECK_STR(ts_out, "foo=1,bar=2,rojo=1,congo=2,baz=3");
    CHECK(ts_res == 0);

    /* each field is copied as received, whitespace and empty members too */
    const char *w[] = {"foo=1 , bar=2", ",", " rojo=1,"};
    CHECK(ts_n(3, w, 512) == 0);
    CHECK_STR(ts_out, "foo=1 , bar=2, rojo=1,");
    CHECK(ts_res == 0);
}

static void tracestate_empty_fields(void)
{
    /* W3C test suite: an empty field is accepted and adds nothing */
    const char *a[] = {""};
    const char *b[] = {"foo=1", ""};
    const char *c[] = {"", "foo=1"};
    const char *d[] = {"", " ", "\t", ",", " , ,", "foo=1", ",,", ""};

    CHECK(ts_n(1, a, 512) == 0);
    CHECK_STR(ts_out, "");
    CHECK(ts_n(2, b, 512) == 0);
    CHECK_STR(ts_out, "foo=1");
    CHECK(ts_n(2, c, 512) == 0);
    CHECK_STR(ts_out, "foo=1");
    CHECK(ts_n(8, d, 512) == 0);
    CHECK_STR(ts_out, "foo=1");
    CHECK(ts_res == 0);
    /* no fields at all */
    CHECK(ts_n(0, a, 512) == 0);
    CHECK_STR(ts_out, "");
}

static void tracestate_duplicate_keys(void)
{
    /* W3C test suite */
    const char *a[] = {"foo=1", "foo=1"};
    const char *b[] = {"foo=1", "foo=2"};

    CHECK(ts1("foo=1,foo=1") == TG_EPARSE);
    CHECK(ts1("foo=1,foo=2") == TG_EPARSE);
    CHECK(ts_n(2, a, 512) == TG_EPARSE);
    CHECK(ts_n(2, b, 512) == TG_EPARSE);
    /* keys differ when one is a prefix of the other, or by tenant */
    CHECK(ts_same("foo=1,fo=2,foo1=3"));
    CHECK(ts_same("t@foo=1,foo=2,u@foo=3"));
    CHECK(ts1("t@foo=1,foo=2,t@foo=3") == TG_EPARSE);
    CHECK(ts1("a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,a=9") == TG_EPARSE);
}

static void tracestate_all_allowed_characters(void)
{
    /* W3C test suite: every key character, and every value character
     * (the value starts with a space, which belongs to it) */
#define KEYCHARS "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
#define VALUECHARS                                                            \
    " !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"       \
    "abcdefghijklmnopqrstuvwxyz{|}~"
    CHECK(ts_same(KEYCHARS "=" VALUECHARS));
    CHECK(ts_same(KEYCHARS "@a-z0-9_-*/=" VALUECHARS));
}

static void tracestate_ows(void)
{
    /* W3C test suite */
    CHECK(ts_same("foo=1 \t , \t bar=2, \t baz=3"));
    CHECK(ts_same("foo=1\t \t,\t \tbar=2,\t \tbaz=3"));
    CHECK(ts_same(" foo=1"));
    CHECK(ts_same("\tfoo=1"));
    CHECK(ts_same("foo=1 "));
    CHECK(ts_same("foo=1\t"));
    CHECK(ts_same("\t foo=1 \t"));
    /* a trailing space is OWS, so these two members are the same size */
    CHECK(ts_same("foo=a ,bar=b"));
    /* a leading space after '=' is part of the value */
    CHECK(ts_same("foo= a"));
    CHECK(ts_same("foo=a b"));
    /* but no whitespace around '=' on the key side */
    CHECK(ts1("foo =1") == TG_EPARSE);
    CHECK(ts1("foo\t=1") == TG_EPARSE);
    /* and no tab inside a value, nor as its first character */
    CHECK(ts1("foo=a\tb") == TG_EPARSE);
    CHECK(ts1("foo=\ta") == TG_EPARSE);
    /* other whitespace is not OWS */
    CHECK(ts1("foo=1\r\n") == TG_EPARSE);
    CHECK(ts1("\nfoo=1") == TG_EPARSE);
}

static void tracestate_empty_members(void)
{
    char many[3000], tail[600];

    CHECK(ts_same("foo=1,"));
    CHECK(ts_same(",foo=1"));
    CHECK(ts_same("foo=1,,bar=2"));
    CHECK(ts_same(",,, foo=1 ,, ,\t,"));
    /* empty members do not count towards the 32 */
    fill(many, ',', 2000);
    strcat(many, "foo=1");
    strcat(many, fill(tail, ',', 500));
    CHECK(ts1(many) == 0);
    /* a field with no member contributes nothing */
    CHECK(ts1(",") == 0);
    CHECK_STR(ts_out, "");
    CHECK(ts1(" , \t, ") == 0);
    CHECK_STR(ts_out, "");
}

static void tracestate_key_grammar(void)
{
    char buf[600], z[300];

    /* W3C test suite: illegal characters */
    CHECK(ts1("foo =1") == TG_EPARSE);
    CHECK(ts1("FOO=1") == TG_EPARSE);
    CHECK(ts1("foo.bar=1") == TG_EPARSE);
    /* W3C test suite: illegal vendor format */
    CHECK(ts1("foo@=1,bar=2") == TG_EPARSE);
    CHECK(ts1("@foo=1,bar=2") == TG_EPARSE);
    CHECK(ts1("foo@@bar=1,bar=2") == TG_EPARSE);
    CHECK(ts1("foo@bar@baz=1,bar=2") == TG_EPARSE);
    /* simple-key starts with lcalpha; tenant-id may start with a digit;
     * system-id starts with lcalpha */
    CHECK(ts1("1foo=1") == TG_EPARSE);
    CHECK(ts1("_foo=1") == TG_EPARSE);
    CHECK(ts_same("1foo@bar=1"));
    CHECK(ts_same("0@a=1"));
    CHECK(ts1("foo@1bar=1") == TG_EPARSE);
    CHECK(ts1("foo@Bar=1") == TG_EPARSE);
    CHECK(ts1("fOo=1") == TG_EPARSE);
    CHECK(ts1("_@bar=1") == TG_EPARSE);
    CHECK(ts_same("a*b/c-d_e@s_y-s*t/m=1"));
    /* no key, no '=' */
    CHECK(ts1("=1") == TG_EPARSE);
    CHECK(ts1("foo") == TG_EPARSE);
    CHECK(ts1("foo=1,bar") == TG_EPARSE);
    CHECK(ts1("caf\xc3\xa9=1") == TG_EPARSE);

    /* W3C test suite: key length limits */
    snprintf(buf, sizeof(buf), "%s=1", fill(z, 'z', 256));
    CHECK(ts_same(buf));
    snprintf(buf, sizeof(buf), "%s=1", fill(z, 'z', 257));
    CHECK(ts1(buf) == TG_EPARSE);
    {
        char tenant[260];
        fill(tenant, 't', 241);
        snprintf(buf, sizeof(buf), "%s@vvvvvvvvvvvvvv=1", tenant);
        const char *v[] = {"foo=1", buf};
        CHECK(ts_n(2, v, 512) == 0);
        CHECK(ts_res == 0);
        fill(tenant, 't', 242);
        snprintf(buf, sizeof(buf), "%s@v=1", tenant);
        CHECK(ts_n(2, v, 512) == TG_EPARSE);
        snprintf(buf, sizeof(buf), "t@vvvvvvvvvvvvvvv=1");
        CHECK(ts_n(2, v, 512) == TG_EPARSE);
    }
}

static void tracestate_value_grammar(void)
{
    char buf[600], v[300];

    /* W3C test suite: illegal values */
    CHECK(ts1("foo=bar=baz") == TG_EPARSE);
    CHECK(ts1("foo=,bar=3") == TG_EPARSE);
    CHECK(ts1("foo=") == TG_EPARSE);
    CHECK(ts1("foo= ") == TG_EPARSE);   /* only OWS after '=' */
    /* a ',' ends the value; what follows must be a member */
    CHECK(ts1("foo=a,b") == TG_EPARSE);
    /* printable ASCII only */
    CHECK(ts1("foo=a\x7f") == TG_EPARSE);
    CHECK(ts1("foo=\x01") == TG_EPARSE);
    CHECK(ts1("foo=caf\xc3\xa9") == TG_EPARSE);
    /* 256 characters at most */
    snprintf(buf, sizeof(buf), "foo=%s", fill(v, 'v', 256));
    CHECK(ts_same(buf));
    snprintf(buf, sizeof(buf), "foo=%s", fill(v, 'v', 257));
    CHECK(ts1(buf) == TG_EPARSE);
    /* leading spaces count towards the 256 */
    snprintf(buf, sizeof(buf), "foo= %s", fill(v, 'v', 255));
    CHECK(ts_same(buf));
    snprintf(buf, sizeof(buf), "foo= %s", fill(v, 'v', 256));
    CHECK(ts1(buf) == TG_EPARSE);
}

static void tracestate_embedded_nul(void)
{
    const char v[] = "foo=a\0b,bar=1";
    const char *vals[] = {v};
    size_t lens[] = {sizeof(v) - 1};
    unsigned res;
    char out[64];

    CHECK(tg_tracestate_normalize(vals, lens, 1, 512, out, sizeof(out),
                                  &res) == TG_EPARSE);
    lens[0] = 5; /* "foo=a": the length decides, not the NUL */
    CHECK(tg_tracestate_normalize(vals, lens, 1, 512, out, sizeof(out),
                                  &res) == 0);
    CHECK_STR(out, "foo=a");
}

static void tracestate_member_count(void)
{
    /* W3C test suite: 32 members across four fields, then 33 */
    const char *v32[] = {
        "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,"
        "bar08=08,bar09=09,bar10=10",
        "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,"
        "bar18=18,bar19=19,bar20=20",
        "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,"
        "bar28=28,bar29=29,bar30=30",
        "bar31=31,bar32=32",
    };
    const char *v33[] = {v32[0], v32[1], v32[2], "bar31=31,bar32=32,bar33=33"};

    CHECK(ts_n(4, v32, 1024) == 0);
    CHECK(ts_res == 0);
    CHECK(strncmp(ts_out, "bar01=01,", 9) == 0);
    CHECK(strstr(ts_out, "bar32=32") != NULL);
    CHECK(ts_n(4, v33, 1024) == TG_EPARSE);
    /* the same in one field */
    char one[600];
    snprintf(one, sizeof(one), "%s,%s,%s,%s", v33[0], v33[1], v33[2],
             v33[3]);
    CHECK(ts1(one) == TG_EPARSE);
    snprintf(one, sizeof(one), "%s,%s,%s,%s", v32[0], v32[1], v32[2],
             v32[3]);
    CHECK(ts_n(1, (const char *[]){one}, 1024) == 0);
}

/* "kNN=" followed by filler up to len characters in total */
static char *member(char *buf, int n, size_t len)
{
    int k = snprintf(buf, 8, "k%02d=", n);
    fill(buf + k, 'a' + (char)(n % 26), len - (size_t)k);
    return buf;
}

/* Join members into one field. */
static char *join(char *out, char members[][600], size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            strcat(out, ",");
        }
        strcat(out, members[i]);
    }
    return out;
}

static void tracestate_limit_boundary(void)
{
    static char m[32][600];
    static char all[8192];

    /* 512 characters exactly: 4 members of 127 plus 3 commas = 511, so
     * make the last 128 */
    member(m[0], 0, 127);
    member(m[1], 1, 127);
    member(m[2], 2, 127);
    member(m[3], 3, 128);
    join(all, m, 4);
    CHECK(strlen(all) == 512);
    CHECK(ts_same(all));
    /* one more character: the last member goes */
    member(m[3], 3, 129);
    join(all, m, 4);
    CHECK(ts1(all) == 0);
    CHECK(ts_res == (TG_TRACESTATE_TRUNCATED | TG_TRACESTATE_REWRITTEN));
    join(all, m, 3);
    CHECK_STR(ts_out, all);
    /* a larger limit keeps it */
    member(m[3], 3, 129);
    join(all, m, 4);
    CHECK(ts_n(1, (const char *[]){all}, 513) == 0);
    CHECK(ts_res == 0);
    CHECK_STR(ts_out, all);
    /* below the spec's 512 is refused */
    CHECK(ts_n(1, (const char *[]){"a=1"}, 511) == TG_ERANGE);
    CHECK(ts_n(1, (const char *[]){"a=1"}, 0) == TG_ERANGE);
}

static void tracestate_truncation_large_members_first(void)
{
    static char m[32][600];
    static char all[8192], want[8192];

    /* a 200-character member at the front, then 8 of 50: 200 + 400 + 8
     * commas = 608 > 512. The large one goes though it is first. */
    member(m[0], 0, 200);
    for (int i = 1; i <= 8; i++) {
        member(m[i], i, 50);
    }
    join(all, m, 9);
    CHECK(ts1(all) == 0);
    CHECK(ts_res == (TG_TRACESTATE_TRUNCATED | TG_TRACESTATE_REWRITTEN));
    join(want, m + 1, 8);
    CHECK_STR(ts_out, want);
    CHECK(strlen(ts_out) <= 512);
}

static void tracestate_truncation_large_from_the_end(void)
{
    static char m[32][600];
    static char all[8192], want[8192];

    /* large members at 0 and 2, smalls around: 200+20+200+20+20+20 + 5
     * commas = 485 fits; add one more small of 40 -> 526. Removing the
     * last large member (index 2) is enough: index 0 stays. */
    member(m[0], 0, 200);
    member(m[1], 1, 20);
    member(m[2], 2, 200);
    member(m[3], 3, 20);
    member(m[4], 4, 20);
    member(m[5], 5, 20);
    member(m[6], 6, 40);
    join(all, m, 7);
    CHECK(strlen(all) == 526);
    CHECK(ts1(all) == 0);
    CHECK(ts_res & TG_TRACESTATE_TRUNCATED);
    snprintf(want, sizeof(want), "%s,%s,%s,%s,%s,%s", m[0], m[1], m[3], m[4],
             m[5], m[6]);
    CHECK_STR(ts_out, want);
}

static void tracestate_truncation_from_the_end(void)
{
    static char m[32][600];
    static char all[8192], want[8192];

    /* 20 members of 40, none large: 800 + 19 = 819. Keep the first n with
     * 40n + n - 1 <= 512, n = 12 (491). */
    for (int i = 0; i < 20; i++) {
        member(m[i], i, 40);
    }
    join(all, m, 20);
    CHECK(ts1(all) == 0);
    CHECK(ts_res == (TG_TRACESTATE_TRUNCATED | TG_TRACESTATE_REWRITTEN));
    join(want, m, 12);
    CHECK_STR(ts_out, want);

    /* large ones all go first, then from the end: two of 200 and six of
     * 100: 400 + 600 + 7 = 1007. Without the large ones 605 > 512, so one
     * of 100 goes from the end too: 504. */
    member(m[0], 0, 200);
    member(m[1], 1, 100);
    member(m[2], 2, 100);
    member(m[3], 3, 200);
    member(m[4], 4, 100);
    member(m[5], 5, 100);
    member(m[6], 6, 100);
    member(m[7], 7, 100);
    join(all, m, 8);
    CHECK(ts1(all) == 0);
    CHECK(ts_res & TG_TRACESTATE_TRUNCATED);
    snprintf(want, sizeof(want), "%s,%s,%s,%s,%s", m[1], m[2], m[4], m[5],
             m[6]);
    CHECK_STR(ts_out, want);
    CHECK(strlen(ts_out) == 504);
}

static void tracestate_truncation_exactly_128_is_not_large(void)
{
    static char m[32][600];
    static char all[8192], want[8192];

    /* 128 is not "larger than 128": only the 129 (index 1) goes, though
     * members of 128 follow it */
    member(m[0], 0, 128);
    member(m[1], 1, 129);
    member(m[2], 2, 128);
    member(m[3], 3, 128);
    join(all, m, 4); /* 513 + 3 = 516 */
    CHECK(ts1(all) == 0);
    snprintf(want, sizeof(want), "%s,%s,%s", m[0], m[2], m[3]);
    CHECK_STR(ts_out, want);
}

static void tracestate_whitespace_only_overflow_is_rewritten(void)
{
    static char all[8192];
    char want[64];

    /* 2 short members padded with 600 spaces: only the whitespace is too
     * long, so nothing is removed */
    strcpy(all, "foo=1");
    fill(all + 5, ' ', 600);
    strcat(all, ",\tbar=2");
    CHECK(ts1(all) == 0);
    CHECK(ts_res == TG_TRACESTATE_REWRITTEN);
    CHECK_STR(ts_out, "foo=1,bar=2");
    /* empty members too */
    fill(all, ',', 600);
    strcat(all, "foo=1");
    CHECK(ts1(all) == 0);
    CHECK(ts_res == TG_TRACESTATE_REWRITTEN);
    CHECK_STR(ts_out, "foo=1");
    /* several fields each under the limit, together over it */
    const char *v[] = {"foo=1", all, "bar=2"};
    fill(all, ' ', 510);
    strcat(all, "baz=3");
    CHECK(ts_n(3, v, 512) == 0);
    CHECK(ts_res == TG_TRACESTATE_REWRITTEN);
    snprintf(want, sizeof(want), "foo=1,baz=3,bar=2");
    CHECK_STR(ts_out, want);
}

static void tracestate_single_member_too_long(void)
{
    char key[300], value[300], all[700];

    /* the longest member is 513 characters: over a 512 limit on its own */
    snprintf(all, sizeof(all), "%s=%s", fill(key, 'k', 256),
             fill(value, 'v', 256));
    CHECK(strlen(all) == 513);
    CHECK(ts1(all) == 0);
    CHECK(ts_res == (TG_TRACESTATE_TRUNCATED | TG_TRACESTATE_REWRITTEN));
    CHECK_STR(ts_out, "");
    CHECK(ts_n(1, (const char *[]){all}, 513) == 0);
    CHECK(ts_res == 0);
    CHECK_STR(ts_out, all);
}

static void tracestate_out_cap(void)
{
    const char *v[] = {"foo=1,bar=2"};
    size_t lens[] = {11};
    char out[16];
    unsigned res = 7;

    memset(out, 'x', sizeof(out));
    CHECK(tg_tracestate_normalize(v, lens, 1, 512, out, 11, &res) ==
          TG_ETOOBIG);
    CHECK(out[0] == 'x' && res == 7);
    CHECK(tg_tracestate_normalize(v, lens, 1, 512, out, 12, &res) == 0);
    CHECK_STR(out, "foo=1,bar=2");
    CHECK(res == 0);
    CHECK(tg_tracestate_normalize(v, lens, 1, 512, out, 0, &res) ==
          TG_ETOOBIG);
    /* empty output needs one byte for the NUL */
    const char *e[] = {""};
    size_t elen[] = {0};
    CHECK(tg_tracestate_normalize(e, elen, 1, 512, out, 1, &res) == 0);
    CHECK(out[0] == '\0');
    /* an invalid tracestate is reported as such, whatever out_cap */
    const char *bad[] = {"FOO=1"};
    size_t badlen[] = {5};
    CHECK(tg_tracestate_normalize(bad, badlen, 1, 512, out, 0, &res) ==
          TG_EPARSE);
}

static void tracestate_output_reparses(void)
{
    static char m[32][600];
    static char all[8192];
    char copy[1024];

    for (int i = 0; i < 30; i++) {
        member(m[i], i, 10 + (size_t)(i * 7) % 150);
    }
    join(all, m, 30);
    CHECK(ts1(all) == 0);
    CHECK(ts_res & TG_TRACESTATE_TRUNCATED);
    CHECK(strlen(ts_out) <= 512);
    strcpy(copy, ts_out);
    CHECK(ts_same(copy));
}

/* ---- baggage ------------------------------------------------------- */

static int bag_n(size_t n, const char *const *v)
{
    size_t lens[128];

    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(v[i]);
    }
    return tg_baggage_check(v, lens, n);
}

static int bag(const char *v)
{
    return bag_n(1, &v);
}

static void baggage_spec_examples(void)
{
    CHECK(bag("key1=value1;property1;property2, key2 = value2, key3=value3; "
              "propertyKey=propertyValue") == 0);
    CHECK(bag("userId=alice,serverNode=DF%2028,isProduction=false") == 0);
    CHECK(bag_n(2, (const char *[]){"userId=alice",
                                    "serverNode=DF%2028,isProduction=false"})
          == 0);
    CHECK(bag_n(2, (const char *[]){"userId =   alice",
                                    "serverNode = DF%2028, isProduction = "
                                    "false"}) == 0);
    CHECK(bag("serverNode=DF%2028") == 0);
    CHECK(bag("isProduction=false") == 0);
}

static void baggage_test_suite_cases(void)
{
    /* the W3C baggage test suite's parser cases */
    CHECK(bag("SomeKey=SomeValue") == 0);
    CHECK(bag("SomeKey=SomeValue,SomeKey2=SomeValue2") == 0);
    CHECK(bag("SomeKey \t = \t SomeValue \t , \t SomeKey2 \t = \t "
              "SomeValue2 \t ") == 0);
    CHECK(bag("SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;SomeProp2") ==
          0);
    CHECK(bag("SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;"
              "ValueProp=PropVal") == 0);
    CHECK(bag("SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 "
              "\t = \t SomeValue2 \t ; \t ValueProp \t = \t PropVal") == 0);
    CHECK(bag("SomeKey=SomeValue;SomePropKey=SomePropValue,SomeKey2="
              "SomeValue2;SomePropKey2=SomePropValue2") == 0);
    CHECK(bag("SomeKey=SomeValue=equals") == 0);
    CHECK(bag("SomeKey=%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29")
          == 0);
    CHECK(bag("SomeKey \t = \t "
              "%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29 \t ") ==
          0);
    CHECK(bag("SomeKey=SomeValue;SomeProp;SecondProp=PropValue") == 0);
    CHECK(bag("SomeKey \t = \t SomeValue \t ; \t SomeProp \t ; \t "
              "SecondProp \t = \t PropValue") == 0);
    /* the unencoded value of the percent-encoding case is malformed */
    CHECK(bag("SomeKey=\t \"';=asdf!@#$%^&*()") == TG_EPARSE);
}

static void baggage_grammar(void)
{
    /* values: baggage-octets, possibly none, '=' and '%' included */
    CHECK(bag("k=") == 0);
    CHECK(bag("k=;p") == 0);
    CHECK(bag("k=a=b=c") == 0);
    CHECK(bag("k=100%") == 0);
    CHECK(bag("k=%E2%9C%93") == 0);
    CHECK(bag("k=!#$&'()*+-./:<>?@[]^_`{|}~") == 0);
    CHECK(bag("k=val ue") == TG_EPARSE);
    CHECK(bag("k=\"quoted\"") == TG_EPARSE);
    CHECK(bag("k=a\\b") == TG_EPARSE);
    CHECK(bag("k=a\tb") == TG_EPARSE);
    CHECK(bag("k=\x01") == TG_EPARSE);
    CHECK(bag("k=\x7f") == TG_EPARSE);
    CHECK(bag("k=caf\xc3\xa9") == TG_EPARSE);
    /* keys: RFC 9110 tokens */
    CHECK(bag("!#$%&'*+-.^_`|~09AZaz=v") == 0);
    CHECK(bag("=v") == TG_EPARSE);
    CHECK(bag("k") == TG_EPARSE);
    CHECK(bag("k v=1") == TG_EPARSE);
    CHECK(bag("(k)=v") == TG_EPARSE);
    CHECK(bag("k:v=1") == TG_EPARSE);
    CHECK(bag("k\"=v") == TG_EPARSE);
    CHECK(bag("k@x=v") == TG_EPARSE);
    /* properties: a token, optionally "=" and a value */
    CHECK(bag("k=v;p") == 0);
    CHECK(bag("k=v;p=") == 0);
    CHECK(bag("k=v;p=x=y;q;r=%20") == 0);
    CHECK(bag("k=v ; p = x ;\tq") == 0);
    CHECK(bag("k=v;") == TG_EPARSE);
    CHECK(bag("k=v;;p") == TG_EPARSE);
    CHECK(bag("k=v;=x") == TG_EPARSE);
    CHECK(bag("k=v;p=a b") == TG_EPARSE);
    CHECK(bag("k=v;p q") == TG_EPARSE);
    CHECK(bag("k=v;(p)") == TG_EPARSE);
    /* embedded NUL */
    const char nul[] = "k=a\0b";
    CHECK(tg_baggage_check((const char *[]){nul}, (size_t[]){5}, 1) ==
          TG_EPARSE);
}

static void baggage_empty_members(void)
{
    CHECK(bag("") == 0);
    CHECK(bag(" \t ") == 0);
    CHECK(bag(",") == 0);
    CHECK(bag("k=v,") == 0);
    CHECK(bag(",,k=v,, ,\t,") == 0);
    CHECK(bag_n(3, (const char *[]){"", "k=v", ""}) == 0);
    CHECK(bag_n(0, (const char *[]){""}) == 0);
}

static void baggage_member_limit(void)
{
    static char buf[8192];
    char m[16];

    /* the test suite's 64 members; 65 is over our limit */
    buf[0] = '\0';
    for (int i = 0; i < 64; i++) {
        snprintf(m, sizeof(m), "%skey%d=value", i > 0 ? "," : "", i);
        strcat(buf, m);
    }
    CHECK(bag(buf) == 0);
    strcat(buf, ",key64=value");
    CHECK(bag(buf) == TG_ETOOBIG);
    /* empty members are not members */
    strcpy(buf + strlen(buf) - strlen(",key64=value"), ",,, ,");
    CHECK(bag(buf) == 0);
    /* counted across fields: 32 + 33 */
    static char a[1024], b[1024];
    a[0] = b[0] = '\0';
    for (int i = 0; i < 32; i++) {
        snprintf(m, sizeof(m), "%sa%d=1", i > 0 ? "," : "", i);
        strcat(a, m);
    }
    for (int i = 0; i < 33; i++) {
        snprintf(m, sizeof(m), "%sb%d=1", i > 0 ? "," : "", i);
        strcat(b, m);
    }
    CHECK(bag_n(2, (const char *[]){a, b}) == TG_ETOOBIG);
    CHECK(bag_n(2, (const char *[]){a, a}) == 0);
    /* a malformed member is reported as such even past 64 */
    strcat(b, ",bad value");
    CHECK(bag_n(2, (const char *[]){a, b}) == TG_EPARSE);
}

static void baggage_byte_limit(void)
{
    static char buf[9000], half[5000], half2[5000];

    /* the test suite's "a=" plus 8190: 8192 bytes exactly */
    strcpy(buf, "a=");
    fill(buf + 2, '0', 8190);
    CHECK(strlen(buf) == 8192);
    CHECK(bag(buf) == 0);
    strcat(buf, "1");
    CHECK(bag(buf) == TG_ETOOBIG);
    /* whitespace counts as bytes */
    buf[8191] = ' ';
    buf[8192] = '\0';
    CHECK(bag(buf) == 0);
    strcat(buf, " ");
    CHECK(bag(buf) == TG_ETOOBIG);
    /* two fields: their bytes plus the ',' that joins them */
    strcpy(half, "a=");
    fill(half + 2, '0', 4094);   /* 4096 */
    strcpy(half2, "b=");
    fill(half2 + 2, '0', 4093);  /* 4095: 4096 + 1 + 4095 = 8192 */
    CHECK(bag_n(2, (const char *[]){half, half2}) == 0);
    strcat(half2, "0");
    CHECK(bag_n(2, (const char *[]){half, half2}) == TG_ETOOBIG);
    /* the size is checked before the grammar */
    fill(buf, ' ', 8193);
    buf[0] = '"';
    CHECK(bag(buf) == TG_ETOOBIG);
    /* the test suite's 512 short members fit in bytes, not in count */
    buf[0] = '\0';
    for (int i = 0; i < 512; i++) {
        char m[24];
        snprintf(m, sizeof(m), "%s%03d=0123456789a", i > 0 ? "," : "", i);
        strcat(buf, m);
    }
    CHECK(strlen(buf) == 8191);
    CHECK(bag(buf) == TG_ETOOBIG);
}

int main(void)
{
    RUN(traceparent_spec_examples);
    RUN(traceparent_flags_kept_whole);
    RUN(traceparent_format_round_trip);
    RUN(traceparent_format_from_struct);
    RUN(traceparent_higher_versions);
    RUN(traceparent_version_00_is_exactly_55);
    RUN(traceparent_version_field);
    RUN(traceparent_trace_id_field);
    RUN(traceparent_parent_id_field);
    RUN(traceparent_flags_field);
    RUN(traceparent_dash_positions);
    RUN(traceparent_surrounding_ows);
    RUN(traceparent_embedded_nul);
    RUN(traceparent_failure_leaves_out_alone);
    RUN(traceresponse_same_rules);
    RUN(hex_encode);
    RUN(tracestate_spec_examples);
    RUN(tracestate_multiple_fields_combine);
    RUN(tracestate_empty_fields);
    RUN(tracestate_duplicate_keys);
    RUN(tracestate_all_allowed_characters);
    RUN(tracestate_ows);
    RUN(tracestate_empty_members);
    RUN(tracestate_key_grammar);
    RUN(tracestate_value_grammar);
    RUN(tracestate_embedded_nul);
    RUN(tracestate_member_count);
    RUN(tracestate_limit_boundary);
    RUN(tracestate_truncation_large_members_first);
    RUN(tracestate_truncation_large_from_the_end);
    RUN(tracestate_truncation_from_the_end);
    RUN(tracestate_truncation_exactly_128_is_not_large);
    RUN(tracestate_whitespace_only_overflow_is_rewritten);
    RUN(tracestate_single_member_too_long);
    RUN(tracestate_out_cap);
    RUN(tracestate_output_reparses);
    RUN(baggage_spec_examples);
    RUN(baggage_test_suite_cases);
    RUN(baggage_grammar);
    RUN(baggage_empty_members);
    RUN(baggage_member_limit);
    RUN(baggage_byte_limit);
    return TEST_SUMMARY();
}
