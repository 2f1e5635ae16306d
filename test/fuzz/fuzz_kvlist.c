/*
 * libFuzzer target for the "key1=value1,key2=value2" lists of the
 * OpenTelemetry environment (lib/otlp/kvlist.c) and the resource built from
 * OTEL_RESOURCE_ATTRIBUTES (lib/otlp/resource.c). A list that parses gives
 * one pair per non-blank entry, each with a non-empty key; a list that does
 * not says why and leaves the resource untouched.
 */
#include "fuzz.h"
#include "kvlist.h"
#include "resource.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>

struct walk {
    size_t pairs;
};

static int on_pair(void *arg, const char *key, const char *value)
{
    struct walk *w = arg;

    REQUIRE(key != NULL && value != NULL);
    REQUIRE(key[0] != '\0');
    w->pairs++;
    return 0;
}

/* Entries that are not all whitespace, as the parser counts them. */
static size_t entries(const char *s)
{
    size_t n = 0;
    bool blank = true;

    for (;; s++) {
        if (*s == ',' || *s == '\0') {
            n += !blank;
            blank = true;
            if (*s == '\0') {
                return n;
            }
        } else if (!isspace((unsigned char)*s)) {
            blank = false;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *list = fuzz_cstr(data, size);
    char err[96];
    struct walk w = {0};

    err[0] = '\0';
    int r = tg_kvlist_parse(list, on_pair, &w, err, sizeof(err));
    REQUIRE(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == 0) {
        REQUIRE(w.pairs == entries(list));
    } else if (r == -EINVAL) {
        REQUIRE(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }
    /* A check-only walk agrees. */
    REQUIRE(tg_kvlist_parse(list, NULL, NULL, err, sizeof(err)) == r);

    struct tg_otlp_resource res;
    REQUIRE(tg_otlp_resource_init(&res, "tracegate", "0") == 0);
    r = tg_otlp_resource_parse(&res, list, err, sizeof(err));
    REQUIRE(r == 0 || r == -EINVAL || r == -ENOSPC || r == -ENOMEM);
    REQUIRE(res.count <= TG_OTLP_RESOURCE_MAX);
    if (r == -EINVAL) {
        REQUIRE(res.count == 0);  /* nothing applied */
    }
    for (size_t i = 0; i < res.count; i++) {
        REQUIRE(res.attrs[i].key[0] != '\0');
        REQUIRE(tg_otlp_resource_get(&res, res.attrs[i].key) == &res.attrs[i]);
    }
    if (r == 0) {
        REQUIRE(res.count <= w.pairs);  /* repeated keys share a slot */
    }
    tg_otlp_resource_fini(&res);
    free(list);
    return 0;
}
