/*
 * Admin settings: the file's "admin" object, the token variables and
 * --admin-listen.
 *
 * The token is read here, at startup and on every reload, so rotating the
 * token file and sending SIGHUP changes it. A token that is too short or
 * holds characters a Bearer credential cannot carry is a startup error:
 * an admin surface guarded by "abc" is worse than none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

#define TOKEN_FILE_MAX 4096

void tg_admin_defaults(struct tg_admin_conf *a)
{
    memset(a, 0, sizeof(*a));
    a->reads = TG_READS_LOOPBACK;
    a->audit_log = strdup("-");
}

void tg_admin_free(struct tg_admin_conf *a)
{
    free(a->listen_host);
    if (a->token != NULL) {
        /* Do not leave the secret in freed memory. */
        memset(a->token, 0, strlen(a->token));
        free(a->token);
    }
    free(a->token_file);
    free(a->audit_log);
    memset(a, 0, sizeof(*a));
}

static int reads_parse(const char *s, enum tg_admin_reads *out)
{
    if (strcmp(s, "loopback") == 0) {
        *out = TG_READS_LOOPBACK;
    } else if (strcmp(s, "token") == 0) {
        *out = TG_READS_TOKEN;
    } else if (strcmp(s, "open") == 0) {
        *out = TG_READS_OPEN;
    } else {
        return -EINVAL;
    }
    return 0;
}

static bool set_string(char **slot, json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL || s[0] == '\0' || strlen(s) != json_string_length(v)) {
        return false;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        return false;
    }
    free(*slot);
    *slot = copy;
    return true;
}

void tg_admin_load(struct tg_admin_conf *a, const struct tg_cfg_src *src, json_t *obj)
{
    struct tg_json_step steps[2] = {{.key = "admin"}};
    if (!json_is_object(obj)) {
        tg_cfg_error(src, steps, 1, false, "\"admin\" must be an object");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        steps[1] = (struct tg_json_step){.key = key};
        if (strcmp(key, "listen") == 0) {
            if (!json_is_string(v) ||
                tg_listen_parse(json_string_value(v), &a->listen_host, &a->listen_port) < 0) {
                tg_cfg_error(src, steps, 2, false,
                             "\"listen\" must be a string HOST:PORT, e.g. \"127.0.0.1:9901\"");
            }
        } else if (strcmp(key, "token_file") == 0) {
            if (!set_string(&a->token_file, v)) {
                tg_cfg_error(src, steps, 2, false, "\"token_file\" must be a file path");
            }
        } else if (strcmp(key, "audit_log") == 0) {
            if (!set_string(&a->audit_log, v)) {
                tg_cfg_error(src, steps, 2, false,
                             "\"audit_log\" must be \"-\" (stderr) or a file path");
            }
        } else if (strcmp(key, "reads") == 0) {
            if (!json_is_string(v) || reads_parse(json_string_value(v), &a->reads) < 0) {
                tg_cfg_error(src, steps, 2, false,
                             "\"reads\" must be \"loopback\", \"token\" or \"open\"");
            }
        } else {
            tg_cfg_error(src, steps, 2, true, "unknown key \"%s\" in \"admin\"", key);
        }
    }
}

/* Printable ASCII without spaces: what fits a Bearer credential and a
 * token file line. Returns NULL or what is wrong. */
static const char *token_problem(const char *t, size_t len)
{
    if (len < TG_ADMIN_TOKEN_MIN) {
        return "is shorter than 16 characters";
    }
    if (len > TG_ADMIN_TOKEN_MAX) {
        return "is longer than 512 characters";
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f) {
            return "may only hold printable ASCII characters without spaces";
        }
    }
    return NULL;
}

/* from: the setting (static); where: what to name in an error. */
static void set_token(struct tg_admin_conf *a, const char *t, size_t len, const char *from,
                      const char *where, struct tg_diag *diag)
{
    const char *problem = token_problem(t, len);
    if (problem != NULL) {
        tg_diag_add(diag, "tracegate: the admin token in %s %s", where, problem);
        return;
    }
    char *copy = strndup(t, len);
    if (copy == NULL) {
        tg_diag_add(diag, "tracegate: out of memory");
        return;
    }
    a->token = copy;
    a->token_from = from;
}

/* The first line of the file, trailing whitespace removed. */
static void read_token_file(struct tg_admin_conf *a, const char *path, const char *from,
                            struct tg_diag *diag)
{
    char buf[TOKEN_FILE_MAX + 1];
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        tg_diag_add(diag, "tracegate: %s: cannot read the admin token file %s: %s", from, path,
                    strerror(errno));
        return;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n > TOKEN_FILE_MAX) {
        tg_diag_add(diag, "tracegate: %s: the admin token file %s is larger than %d bytes", from,
                    path, TOKEN_FILE_MAX);
        return;
    }
    size_t len = strcspn(buf, "\n");
    if (len > n) {
        len = n;
    }
    while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t')) {
        len--;
    }
    char where[512];
    snprintf(where, sizeof(where), "%s (%s)", path, from);
    set_token(a, buf, len, from, where, diag);
    memset(buf, 0, sizeof(buf));
}

void tg_admin_finish(struct tg_admin_conf *a, const struct tg_cli *cli, struct tg_diag *diag)
{
    if (cli->admin_listen != NULL &&
        tg_listen_parse(cli->admin_listen, &a->listen_host, &a->listen_port) < 0) {
        tg_diag_add(diag, "tracegate: --admin-listen: expected HOST:PORT (e.g. 127.0.0.1:9901), got \"%s\"",
                    cli->admin_listen);
    }
    /* The environment wins over the file, the value over a file name. */
    const char *env = tg_env("TELEMETRY_ADMIN_TOKEN");
    const char *env_file = tg_env("TELEMETRY_ADMIN_TOKEN_FILE");
    if (env != NULL) {
        set_token(a, env, strlen(env), "TELEMETRY_ADMIN_TOKEN", "TELEMETRY_ADMIN_TOKEN", diag);
    } else if (env_file != NULL) {
        read_token_file(a, env_file, "TELEMETRY_ADMIN_TOKEN_FILE", diag);
    } else if (a->token_file != NULL) {
        read_token_file(a, a->token_file, "admin.token_file", diag);
    }
}
