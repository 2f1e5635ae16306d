/*
 * traceparent and traceresponse (lib/tracecontext.c): the examples and edge
 * cases of W3C Trace Context Level 1 and 2, the W3C test suite's cases as
 * our own, and edge cases of our own.
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
    return TEST_SUMMARY();
}
