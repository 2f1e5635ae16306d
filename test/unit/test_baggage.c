/*
 * W3C Baggage checks (lib/tracecontext.c): the spec's examples, the W3C
 * test suite's cases as our own, grammar edge cases and both limits.
 */
#include "error.h"
#include "test.h"
#include "tracecontext.h"

#include <stdbool.h>
#include <stdint.h>

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
    test_fill(buf + 2, '0', 8190);
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
    test_fill(half + 2, '0', 4094);   /* 4096 */
    strcpy(half2, "b=");
    test_fill(half2 + 2, '0', 4093);  /* 4095: 4096 + 1 + 4095 = 8192 */
    CHECK(bag_n(2, (const char *[]){half, half2}) == 0);
    strcat(half2, "0");
    CHECK(bag_n(2, (const char *[]){half, half2}) == TG_ETOOBIG);
    /* the size is checked before the grammar */
    test_fill(buf, ' ', 8193);
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
    RUN(baggage_spec_examples);
    RUN(baggage_test_suite_cases);
    RUN(baggage_grammar);
    RUN(baggage_empty_members);
    RUN(baggage_member_limit);
    RUN(baggage_byte_limit);
    return TEST_SUMMARY();
}
