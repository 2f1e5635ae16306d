/*
 * tracestate (lib/tracecontext.c): validation, combination of repeated
 * fields and truncation, with the examples of W3C Trace Context Level 1,
 * the W3C test suite's cases as our own, and edge cases of our own.
 */
#include "error.h"
#include "test.h"
#include "tracecontext.h"

#include <stdbool.h>
#include <stdint.h>

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
    test_fill(many, ',', 2000);
    strcat(many, "foo=1");
    strcat(many, test_fill(tail, ',', 500));
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
    snprintf(buf, sizeof(buf), "%s=1", test_fill(z, 'z', 256));
    CHECK(ts_same(buf));
    snprintf(buf, sizeof(buf), "%s=1", test_fill(z, 'z', 257));
    CHECK(ts1(buf) == TG_EPARSE);
    {
        char tenant[260];
        test_fill(tenant, 't', 241);
        snprintf(buf, sizeof(buf), "%s@vvvvvvvvvvvvvv=1", tenant);
        const char *v[] = {"foo=1", buf};
        CHECK(ts_n(2, v, 512) == 0);
        CHECK(ts_res == 0);
        test_fill(tenant, 't', 242);
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
    snprintf(buf, sizeof(buf), "foo=%s", test_fill(v, 'v', 256));
    CHECK(ts_same(buf));
    snprintf(buf, sizeof(buf), "foo=%s", test_fill(v, 'v', 257));
    CHECK(ts1(buf) == TG_EPARSE);
    /* leading spaces count towards the 256 */
    snprintf(buf, sizeof(buf), "foo= %s", test_fill(v, 'v', 255));
    CHECK(ts_same(buf));
    snprintf(buf, sizeof(buf), "foo= %s", test_fill(v, 'v', 256));
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
    test_fill(buf + k, 'a' + (char)(n % 26), len - (size_t)k);
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
    test_fill(all + 5, ' ', 600);
    strcat(all, ",\tbar=2");
    CHECK(ts1(all) == 0);
    CHECK(ts_res == TG_TRACESTATE_REWRITTEN);
    CHECK_STR(ts_out, "foo=1,bar=2");
    /* empty members too */
    test_fill(all, ',', 600);
    strcat(all, "foo=1");
    CHECK(ts1(all) == 0);
    CHECK(ts_res == TG_TRACESTATE_REWRITTEN);
    CHECK_STR(ts_out, "foo=1");
    /* several fields each under the limit, together over it */
    const char *v[] = {"foo=1", all, "bar=2"};
    test_fill(all, ' ', 510);
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
    snprintf(all, sizeof(all), "%s=%s", test_fill(key, 'k', 256),
             test_fill(value, 'v', 256));
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

int main(void)
{
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
    return TEST_SUMMARY();
}
