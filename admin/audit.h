/*
 * The audit trail of run-time changes: one JSON line per change (when,
 * client address, what, state before and after) to stderr or a file
 * opened for appending. Lines are written whole under a mutex, so changes
 * from several threads never interleave. Secrets never reach it: callers
 * pass states, not requests.
 */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H

#include <jansson.h>

struct tg_audit;

/* path: "-" for stderr, or a file (created 0600, appended). 0 or -errno. */
int tg_audit_open(const char *path, struct tg_audit **out);
void tg_audit_close(struct tg_audit *a);

/* One line: {"time","type":"audit","endpoint","client","action",
 * "before","after"} plus the members of extra (may be NULL). Borrowed
 * arguments. Returns 0 or -errno (the write failed). */
int tg_audit_write(struct tg_audit *a, const char *endpoint, const char *client,
                   const char *action, json_t *before, json_t *after, json_t *extra);

#endif
