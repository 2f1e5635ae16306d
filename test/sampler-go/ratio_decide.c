/*
 * tracegate's sampling decisions in the same format as the Go SDK reference
 * program (main.go), for compare.sh.
 *
 * Reads lines "<32-hex trace id> <rate>" on stdin and prints, per line,
 *   <trace id> <rate> <ratio> <pb_root> <pb_remote_sampled> <pb_remote_unsampled>
 * with 1 = sampled, 0 = not. The decisions go through tg_sampler_decide on
 * two configured samplers (traceidratio and parentbased_traceidratio) whose
 * rate is changed with tg_sampler_set_rate before each line, the way the
 * admin endpoint changes it at run time. Any malformed line or rejected
 * rate is an error (exit status 1).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sampler.h"

/* Longer than any valid line; a longer one is reported, not split. */
#define LINE_MAX_BYTES 256

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Split "<id> <rate>\n" in place into its two fields and decode the id. */
static int parse_line(char *line, char **id_text, char **rate_text, uint8_t id[16])
{
    char *save = NULL;
    char *id_tok = strtok_r(line, " \t\r\n", &save);
    char *rate_tok = strtok_r(NULL, " \t\r\n", &save);

    if (id_tok == NULL || rate_tok == NULL || strtok_r(NULL, " \t\r\n", &save) != NULL) {
        return TG_EPARSE;
    }
    if (strlen(id_tok) != 32) {
        return TG_EPARSE;
    }
    for (int i = 0; i < 16; i++) {
        int hi = hex_digit(id_tok[2 * i]);
        int lo = hex_digit(id_tok[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return TG_EPARSE;
        }
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    *id_text = id_tok;
    *rate_text = rate_tok;
    return 0;
}

static int parse_rate(const char *s, double *out)
{
    char *end = NULL;
    double d;

    /* strtod rounds correctly, as Go's ParseFloat does, so both programs
     * decide with the same double. Overflow gives HUGE_VAL, which
     * tg_sampler_set_rate then rejects. */
    d = strtod(s, &end);
    if (end == s || *end != '\0') {
        return TG_EPARSE;
    }
    *out = d;
    return 0;
}

int main(void)
{
    struct tg_sampler ratio;
    struct tg_sampler parent_based;
    char line[LINE_MAX_BYTES];
    unsigned long n = 0;
    int r;

    /* Zeroed so that the fail path may call fini on either one, set up or not. */
    memset(&ratio, 0, sizeof(ratio));
    memset(&parent_based, 0, sizeof(parent_based));
    r = tg_sampler_init(&ratio, TG_SAMPLER_TRACEIDRATIO, 1.0, true, 0, NULL);
    if (r < 0) {
        fprintf(stderr, "sampler_decide: init: %s\n", tg_strerror(r));
        goto fail;
    }
    r = tg_sampler_init(&parent_based, TG_SAMPLER_PARENTBASED_TRACEIDRATIO, 1.0, true, 0, NULL);
    if (r < 0) {
        fprintf(stderr, "sampler_decide: init: %s\n", tg_strerror(r));
        goto fail;
    }

    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *id_text;
        char *rate_text;
        uint8_t id[16];
        double rate;

        n++;
        if (strchr(line, '\n') == NULL && !feof(stdin)) {
            fprintf(stderr, "sampler_decide: line %lu: too long\n", n);
            r = TG_ETOOBIG;
            goto fail;
        }
        r = parse_line(line, &id_text, &rate_text, id);
        if (r == 0) {
            r = parse_rate(rate_text, &rate);
        }
        if (r < 0) {
            fprintf(stderr, "sampler_decide: line %lu: want \"<32-hex trace id> <rate>\"\n", n);
            goto fail;
        }
        r = tg_sampler_set_rate(&ratio, rate);
        if (r == 0) {
            r = tg_sampler_set_rate(&parent_based, rate);
        }
        if (r < 0) {
            fprintf(stderr, "sampler_decide: line %lu: rate %s: %s\n", n, rate_text,
                    tg_strerror(r));
            goto fail;
        }
        printf("%s %s %d %d %d %d\n", id_text, rate_text,
               tg_sampler_decide(&ratio, 0, id, TG_PARENT_NONE),
               tg_sampler_decide(&parent_based, 0, id, TG_PARENT_NONE),
               tg_sampler_decide(&parent_based, 0, id, TG_PARENT_SAMPLED),
               tg_sampler_decide(&parent_based, 0, id, TG_PARENT_UNSAMPLED));
    }
    if (ferror(stdin) || fflush(stdout) != 0) {
        fprintf(stderr, "sampler_decide: I/O error\n");
        r = -EIO;
        goto fail;
    }
    tg_sampler_fini(&ratio);
    tg_sampler_fini(&parent_based);
    return 0;

fail:
    tg_sampler_fini(&ratio);
    tg_sampler_fini(&parent_based);
    return 1;
}
