/*
 * The Prometheus text writer: exact lines, escaping, histograms built from
 * per-bucket counts, number formats, and a full buffer.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "test.h"

/* The buffer as a NUL-terminated string (owned by a static). */
static const char *text(struct tg_bytes *b)
{
    static char buf[8192];
    size_t n = b->len < sizeof(buf) - 1 ? b->len : sizeof(buf) - 1;
    memcpy(buf, b->data, n);
    buf[n] = '\0';
    return buf;
}

static void family_and_plain_samples(void)
{
    struct tg_bytes b;
    struct tg_prom p;
    tg_bytes_init(&b, 1 << 20);
    tg_prom_init(&p, &b);
    tg_prom_family(&p, "x_total", "counter", "Things.");
    tg_prom_u64(&p, "x_total", NULL, 0, 18446744073709551615ull);
    struct tg_prom_label l[2] = {{"route", "/api"}, {"code", "2xx"}};
    tg_prom_i64(&p, "x_gauge", l, 2, -3);
    tg_prom_f64(&p, "x_rate", l, 1, 0.25);
    CHECK(tg_prom_error(&p) == 0);
    CHECK_STR(text(&b), "# HELP x_total Things.\n"
                        "# TYPE x_total counter\n"
                        "x_total 18446744073709551615\n"
                        "x_gauge{route=\"/api\",code=\"2xx\"} -3\n"
                        "x_rate{route=\"/api\"} 0.25\n");
    tg_bytes_free(&b);
}

static void label_values_and_help_are_escaped(void)
{
    struct tg_bytes b;
    struct tg_prom p;
    tg_bytes_init(&b, 1 << 20);
    tg_prom_init(&p, &b);
    tg_prom_family(&p, "m", "gauge", "a \\ back\nslash \"quoted\"");
    struct tg_prom_label l[1] = {{"route", "/a\"b\\c\nd\te\xff\xc2\xb5"}};
    tg_prom_u64(&p, "m", l, 1, 1);
    CHECK(tg_prom_error(&p) == 0);
    /* HELP: backslash and newline only; value: quote too; tab and the
     * stray byte become U+FFFD, the valid two-byte character stays. */
    CHECK_STR(text(&b), "# HELP m a \\\\ back\\nslash \"quoted\"\n"
                        "# TYPE m gauge\n"
                        "m{route=\"/a\\\"b\\\\c\\nd\xef\xbf\xbd" "e\xef\xbf\xbd\xc2\xb5\"} 1\n");
    tg_bytes_free(&b);
}

static void histogram_is_cumulative(void)
{
    struct tg_bytes b;
    struct tg_prom p;
    static const double bounds[3] = {0.5, 1, 2.5};
    const uint64_t counts[4] = {1, 0, 2, 1};
    tg_bytes_init(&b, 1 << 20);
    tg_prom_init(&p, &b);
    struct tg_prom_label l[1] = {{"route", "/"}};
    tg_prom_histogram(&p, "d_seconds", l, 1, bounds, 3, counts, 4.75);
    CHECK(tg_prom_error(&p) == 0);
    CHECK_STR(text(&b), "d_seconds_bucket{route=\"/\",le=\"0.5\"} 1\n"
                        "d_seconds_bucket{route=\"/\",le=\"1\"} 1\n"
                        "d_seconds_bucket{route=\"/\",le=\"2.5\"} 3\n"
                        "d_seconds_bucket{route=\"/\",le=\"+Inf\"} 4\n"
                        "d_seconds_sum{route=\"/\"} 4.75\n"
                        "d_seconds_count{route=\"/\"} 4\n");
    /* Without labels le is the only one. */
    b.len = 0;
    tg_prom_histogram(&p, "e", NULL, 0, bounds, 1, counts, 0);
    CHECK_STR(text(&b), "e_bucket{le=\"0.5\"} 1\ne_bucket{le=\"+Inf\"} 1\ne_sum 0\ne_count 1\n");
    tg_bytes_free(&b);
}

static void doubles_read_back_exactly(void)
{
    char buf[40];
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.005, "0.005"}, {10, "10"}, {2.5, "2.5"}, {0, "0"}, {1e-05, "1e-05"},
        {0.1 + 0.2, "0.30000000000000004"}, {1795275823.031431, "1795275823.031431"},
        {-4, "-4"}, {1e300, "1e+300"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_prom_format_double(cases[i].v, buf, sizeof(buf));
        CHECK_STR(buf, cases[i].want);
        CHECK(strtod(buf, NULL) == cases[i].v);
    }
    tg_prom_format_double(NAN, buf, sizeof(buf));
    CHECK_STR(buf, "NaN");
    tg_prom_format_double(INFINITY, buf, sizeof(buf));
    CHECK_STR(buf, "+Inf");
    tg_prom_format_double(-INFINITY, buf, sizeof(buf));
    CHECK_STR(buf, "-Inf");
}

static void full_buffer_error_sticks(void)
{
    struct tg_bytes b;
    struct tg_prom p;
    tg_bytes_init(&b, 40);
    tg_prom_init(&p, &b);
    tg_prom_family(&p, "a_long_metric_name_total", "counter", "More than forty bytes.");
    CHECK(tg_prom_error(&p) == -EMSGSIZE);
    size_t len = b.len;
    tg_prom_u64(&p, "a", NULL, 0, 1);
    CHECK(b.len == len);
    CHECK(tg_prom_error(&p) == -EMSGSIZE);
    tg_bytes_free(&b);
}

int main(void)
{
    RUN(family_and_plain_samples);
    RUN(label_values_and_help_are_escaped);
    RUN(histogram_is_cumulative);
    RUN(doubles_read_back_exactly);
    RUN(full_buffer_error_sticks);
    return TEST_SUMMARY();
}
