/*
 * Reading settings from the environment, shared by config/tracing.c and
 * config/export.c. An empty variable counts as unset (OpenTelemetry SDK
 * configuration specification); an invalid value is an error naming the
 * variable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source.h"

const char *tg_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int tg_env_bool(const char *name, bool allow_digits, bool *out, struct tg_diag *diag)
{
    const char *v = tg_env(name);
    if (!v)
        return 0;
    if (strcasecmp(v, "true") == 0 || (allow_digits && strcmp(v, "1") == 0)) {
        *out = true;
    } else if (strcasecmp(v, "false") == 0 || (allow_digits && strcmp(v, "0") == 0)) {
        *out = false;
    } else {
        tg_diag_add(diag, "tracegate: %s: expected true or false, got \"%s\"", name, v);
        return -EINVAL;
    }
    return 1;
}

void tg_env_int(const char *name, int64_t min, int64_t max, int64_t *out,
                struct tg_diag *diag)
{
    const char *v = tg_env(name);
    if (!v)
        return;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || n < min || n > max) {
        tg_diag_add(diag, "tracegate: %s: expected an integer between %lld and %lld, got \"%s\"",
                    name, (long long)min, (long long)max, v);
        return;
    }
    *out = n;
}

bool tg_is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}
