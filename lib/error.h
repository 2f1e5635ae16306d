/*
 * tracegate error codes.
 *
 * Fallible functions return 0 on success, a negative errno value, or one of
 * the project codes below (all below -4096, outside the errno range).
 * tg_strerror() is safe from any thread and never returns NULL.
 */
#ifndef TG_ERROR_H
#define TG_ERROR_H

enum {
    TG_EPARSE = -5001,   /* input does not follow the grammar */
    TG_ETOOBIG = -5002,  /* input or result exceeds a configured limit */
    TG_ERANGE = -5003,   /* number outside its allowed range */
};

const char *tg_strerror(int err);

#endif
