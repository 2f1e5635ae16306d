#include "retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>

bool tg_otlp_http_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

bool tg_otlp_grpc_retryable(int code, bool has_retry_info)
{
    switch (code) {
    case 1:   /* CANCELLED */
    case 4:   /* DEADLINE_EXCEEDED */
    case 10:  /* ABORTED */
    case 11:  /* OUT_OF_RANGE */
    case 14:  /* UNAVAILABLE */
    case 15:  /* DATA_LOSS */
        return true;
    case 8:   /* RESOURCE_EXHAUSTED */
        return has_retry_info;
    default:
        return false;
    }
}

int64_t tg_otlp_retry_after_ms(const char *value, int64_t now_unix_s)
{
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    if (isdigit((unsigned char)*p)) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(p, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (errno != 0 || *end != '\0')
            return -1;
        /* Anything beyond a day is as good as "not within this export". */
        if (s > 86400)
            s = 86400;
        return (int64_t)s * 1000;
    }
    time_t t = curl_getdate(p, NULL);
    if (t == -1)
        return -1;
    if ((int64_t)t <= now_unix_s)
        return 0;
    int64_t d = (int64_t)t - now_unix_s;
    return (d > 86400 ? 86400 : d) * 1000;
}

int64_t tg_otlp_backoff_ms(unsigned retry, uint64_t random)
{
    double d = TG_OTLP_BACKOFF_INITIAL_MS;
    for (unsigned i = 1; i < retry && d < TG_OTLP_BACKOFF_MAX_MS; i++)
        d *= 1.5;
    if (d > TG_OTLP_BACKOFF_MAX_MS)
        d = TG_OTLP_BACKOFF_MAX_MS;
    /* Uniform in [0.8, 1.2] × d. */
    double u = (double)(random >> 11) / (double)(UINT64_C(1) << 53);
    return (int64_t)(d * (0.8 + 0.4 * u));
}
