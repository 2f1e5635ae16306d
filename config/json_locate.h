/*
 * Find where a value sits in JSON text, for error messages.
 *
 * jansson validates the file and gives typed values but keeps no source
 * positions; this walks the (already valid) text again to find the line and
 * column of the value, or of the key, at a path such as routes[2].prefix.
 * No allocation; safe from any thread.
 */
#ifndef TG_JSON_LOCATE_H
#define TG_JSON_LOCATE_H

#include <stdbool.h>
#include <stddef.h>

/* One step of a path: an object key (key != NULL) or an array index. */
struct tg_json_step {
    const char *key;
    size_t index;
};

/*
 * Locate path[0..depth) in text[0..len). With want_key, report the position
 * of the last step's key instead of its value. Line and column are 1-based;
 * columns count characters, not bytes. Returns 0, or -1 if the path is not
 * found (then *line and *col point at the start of the text).
 */
int tg_json_locate(const char *text, size_t len, const struct tg_json_step *path,
                   size_t depth, bool want_key, int *line, int *col);

#endif
