#include <string.h>

#include "json_locate.h"
#include "test.h"

static const char doc[] =
    "{\n"
    "  \"listen\": \"127.0.0.1:8080\",\n"
    "  \"routes\": [\n"
    "    {\"prefix\": \"/a\", \"upstream\": \"http://x\"},\n"
    "    {\"prefix\": \"/\xc3\xa9\", \"bogus\": 1}\n"
    "  ]\n"
    "}\n";

static void finds_values_and_keys(void)
{
    struct tg_json_step p1[] = {{.key = "listen"}};
    int line, col;

    CHECK(tg_json_locate(doc, strlen(doc), p1, 1, false, &line, &col) == 0);
    CHECK(line == 2 && col == 13);
    CHECK(tg_json_locate(doc, strlen(doc), p1, 1, true, &line, &col) == 0);
    CHECK(line == 2 && col == 3);

    struct tg_json_step p2[] = {{.key = "routes"}, {.index = 1}, {.key = "bogus"}};
    CHECK(tg_json_locate(doc, strlen(doc), p2, 3, true, &line, &col) == 0);
    /* columns count characters: the two-byte e-acute is one column */
    if (line != 5 || col != 22) { fprintf(stderr, "got %d:%d\n", line, col); }
    CHECK(line == 5 && col == 22);

    struct tg_json_step p3[] = {{.key = "routes"}, {.index = 0}, {.key = "upstream"}};
    CHECK(tg_json_locate(doc, strlen(doc), p3, 3, false, &line, &col) == 0);
    CHECK(line == 4 && col == 34);
}

static void missing_path_reports_enclosing_container(void)
{
    struct tg_json_step p[] = {{.key = "routes"}, {.index = 7}};
    int line, col;

    CHECK(tg_json_locate(doc, strlen(doc), p, 2, false, &line, &col) == -1);
    CHECK(line == 3 && col == 13);
}

/* Bytes that start no JSON value (a NUL, a stray bracket) inside a
 * container are stepped over, never looped on. */
static void odd_bytes_do_not_stop_the_scan(void)
{
    static const char nul[] = "{\"routes\": [{\"max\": 1\0, \"x\": 2}], \"workers\": 3}";
    static const char stray[] = "{\"routes\": [{\"max\": 1 ], \"x\": 2}], \"workers\": 3}";
    struct tg_json_step p[] = {{.key = "workers"}};
    int line, col;

    CHECK(tg_json_locate(nul, sizeof(nul) - 1, p, 1, false, &line, &col) == 0);
    CHECK(line == 1 && col == (int)sizeof(nul) - 2); /* the 3 */
    tg_json_locate(stray, sizeof(stray) - 1, p, 1, false, &line, &col);
}

int main(void)
{
    RUN(finds_values_and_keys);
    RUN(missing_path_reports_enclosing_container);
    RUN(odd_bytes_do_not_stop_the_scan);
    return TEST_SUMMARY();
}
