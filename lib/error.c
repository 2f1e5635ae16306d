#include "error.h"

#include <string.h>

const char *tg_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case TG_EPARSE:
        return "malformed input";
    case TG_ETOOBIG:
        return "too large";
    case TG_ERANGE:
        return "out of range";
    default:
        /* strerror() is not guaranteed thread-safe; the GNU strerror_r is. */
        if (err < 0 && err > -4096) {
            static _Thread_local char buf[96];
            return strerror_r(-err, buf, sizeof(buf));
        }
        return "unknown error";
    }
}
