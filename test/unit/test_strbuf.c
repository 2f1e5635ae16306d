#include "strbuf.h"
#include "test.h"

static const char *json(const char *s, size_t len, size_t max)
{
    static char out[512];
    struct tg_strbuf sb;

    tg_strbuf_init(&sb, out, sizeof(out) - 1);
    tg_strbuf_json_string(&sb, s, len, max);
    out[sb.len] = '\0';
    return out;
}

static void escapes_quotes_and_controls(void)
{
    CHECK_STR(json("a\"b\\c", 5, 100), "\"a\\\"b\\\\c\"");
    CHECK_STR(json("x\r\ny\t", 5, 100), "\"x\\u000d\\u000ay\\u0009\"");
    CHECK_STR(json("\x7f", 1, 100), "\"\\u007f\"");
}

static void keeps_valid_utf8_and_replaces_invalid(void)
{
    CHECK_STR(json("caf\xc3\xa9", 5, 100), "\"caf\xc3\xa9\"");
    CHECK_STR(json("\xff\xfe", 2, 100), "\"\\ufffd\\ufffd\"");
    /* overlong '/' and a UTF-16 surrogate are not UTF-8 */
    CHECK_STR(json("\xc0\xaf", 2, 100), "\"\\ufffd\\ufffd\"");
    CHECK_STR(json("\xed\xa0\x80", 3, 100), "\"\\ufffd\\ufffd\\ufffd\"");
    /* truncated sequence at the end */
    CHECK_STR(json("a\xe2\x82", 3, 100), "\"a\\ufffd\\ufffd\"");
}

static void cuts_long_input_at_character_boundary(void)
{
    CHECK_STR(json("abcdef", 6, 3), "\"abc...\"");
    CHECK_STR(json("ab\xc3\xa9", 4, 3), "\"ab...\"");
}

static void numbers(void)
{
    char out[64];
    struct tg_strbuf sb;

    tg_strbuf_init(&sb, out, sizeof(out));
    tg_strbuf_u64(&sb, 0);
    tg_strbuf_putc(&sb, ' ');
    tg_strbuf_u64(&sb, 18446744073709551615ULL);
    tg_strbuf_putc(&sb, ' ');
    tg_strbuf_i64(&sb, -42);
    tg_strbuf_putc(&sb, ' ');
    tg_strbuf_fixed(&sb, 1.2345, 3);
    tg_strbuf_putc(&sb, ' ');
    tg_strbuf_fixed(&sb, 0.0005, 3);
    out[sb.len] = '\0';
    CHECK_STR(out, "0 18446744073709551615 -42 1.235 0.001");
}

static void overflow_sets_truncated_and_stops(void)
{
    char out[4];
    struct tg_strbuf sb;

    tg_strbuf_init(&sb, out, sizeof(out));
    tg_strbuf_puts(&sb, "abc");
    CHECK(!sb.truncated);
    tg_strbuf_puts(&sb, "de");
    CHECK(sb.truncated);
    CHECK(sb.len == 3);
    tg_strbuf_putc(&sb, 'x');
    CHECK(sb.len == 3);
}

int main(void)
{
    RUN(escapes_quotes_and_controls);
    RUN(keeps_valid_utf8_and_replaces_invalid);
    RUN(cuts_long_input_at_character_boundary);
    RUN(numbers);
    RUN(overflow_sets_truncated_and_stops);
    return TEST_SUMMARY();
}
