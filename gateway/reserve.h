#ifndef TG_RESERVE_H
#define TG_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Memory kept back for libcurl.
 *
 * libcurl 7.88 does not survive every allocation failure: when adding a
 * transfer to a socket's transfer hash fails in multi.c, the hash is torn
 * down but the socket's entry stays, and the next lookup divides by zero.
 * So libcurl allocates through hooks here (curl_global_init_mem): when
 * malloc fails, the reserve goes back to the system and the allocation is
 * tried again. While the reserve is out, workers refuse new requests with a
 * 503 and try to take it back (tg_reserve_restore) at each one; what is in
 * flight finishes and gives its memory back.
 *
 * A last allocation that fails even after the reserve is gone is passed to
 * libcurl as the failure it is.
 */

#define TG_RESERVE_BYTES (1u << 20)

/* Take the reserve and install the hooks: before any other libcurl call,
 * in place of curl_global_init. 0, or -1 if either failed. */
int tg_reserve_curl_global_init(long flags);

/* True while the reserve is out. One relaxed load. */
bool tg_reserve_spent(void);

/* Take the reserve back if it is out; true if it is in place afterwards. */
bool tg_reserve_restore(void);

/* Times the reserve was given back to let a libcurl allocation succeed. */
uint64_t tg_reserve_releases(void);

#endif
