/*
 * Exporter throughput: N spans of one fixed shape (a proxied request's
 * SERVER span: 12 attributes, 2 events) pushed through tracegate's OTLP
 * exporter in batches, each export awaited, to the receiver at URL.
 * Prints one JSON line: spans, wall seconds, CPU seconds of this process,
 * spans per CPU second, export requests and failed batches.
 *
 * Usage: export_bench URL http/protobuf|http/json|grpc SPANS [BATCH]
 * (TG_BENCH_GZIP=1 in the environment: gzip the requests)
 * test/bench/export.py runs it next to the OpenTelemetry JS exporter.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "export_otlp.h"
#include "resource.h"
#include "span.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* The shape bench_js_exporter.js builds too. */
static struct tg_span *make_span(uint64_t i)
{
    uint8_t tid[16], sid[8], pid[8];
    for (int b = 0; b < 16; b++)
        tid[b] = (uint8_t)(i >> (b % 8 * 8)) ^ (uint8_t)(0x5a + b);
    for (int b = 0; b < 8; b++) {
        sid[b] = (uint8_t)(i >> (b * 8)) ^ 0x11;
        pid[b] = (uint8_t)(i >> (b * 8)) ^ 0x22;
    }
    int64_t start = 1700000000000000000LL + (int64_t)i * 1000;
    struct tg_span *s = tg_span_create(NULL, tid, sid, pid, TG_SPAN_SERVER, start);
    s->flags = 1;
    s->end_unix_ns = start + 1500000;
    tg_span_set_name(s, "GET /api/*", 10);
    tg_span_attr_str(s, "http.request.method", "GET", 3);
    tg_span_attr_str(s, "url.path", "/api/organizations/1/permissions", 32);
    tg_span_attr_str(s, "url.scheme", "http", 4);
    tg_span_attr_str(s, "server.address", "127.0.0.1", 9);
    tg_span_attr_int(s, "server.port", 8080);
    tg_span_attr_str(s, "network.protocol.version", "1.1", 3);
    tg_span_attr_str(s, "user_agent.original", "curl/7.88.1", 11);
    tg_span_attr_str(s, "client.address", "127.0.0.1", 9);
    tg_span_attr_int(s, "http.response.status_code", 200);
    tg_span_attr_str(s, "http.route", "/api/*", 6);
    tg_span_attr_str(s, "network.peer.address", "127.0.0.1", 9);
    tg_span_attr_int(s, "network.peer.port", 51234);
    tg_span_event(s, "request.headers.sent", start + 100000);
    tg_span_event(s, "response.first_byte", start + 1200000);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s URL http/protobuf|http/json|grpc SPANS [BATCH]\n", argv[0]);
        return 2;
    }
    enum tg_otlp_protocol proto = strcmp(argv[2], "grpc") == 0        ? TG_OTLP_GRPC
                                  : strcmp(argv[2], "http/json") == 0 ? TG_OTLP_HTTP_JSON
                                                                      : TG_OTLP_HTTP_PROTOBUF;
    long total = atol(argv[3]);
    long batch = argc > 4 ? atol(argv[4]) : 512;
    curl_global_init(CURL_GLOBAL_ALL);
    struct tg_otlp_resource res;
    tg_otlp_resource_init(&res, "tracegate", "bench");
    tg_otlp_resource_set_str(&res, "service.name", "tracegate-bench");
    struct tg_otlp_conf conf = {
        .url = argv[1], .protocol = proto, .timeout_ms = 10000, .user_agent = "export_bench",
        .gzip = getenv("TG_BENCH_GZIP") != NULL,
    };
    struct tg_exporter ex;
    char err[256];
    if (tg_export_otlp_create(&conf, &res, &ex, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct tg_span **spans = calloc((size_t)batch, sizeof(*spans));
    long failed = 0, requests = 0;
    double w0 = now_s(), c0 = cpu_s();
    /* Span creation is part of the cost on both sides (the JS bench builds
     * its ReadableSpans too). */
    for (long done = 0; done < total;) {
        long n = total - done < batch ? total - done : batch;
        for (long i = 0; i < n; i++)
            spans[i] = make_span((uint64_t)(done + i));
        struct tg_export_report rep = {0};
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t deadline = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + 30000000000LL;
        ex.export_batch(ex.ctx, spans, (size_t)n, deadline, &rep);
        requests += rep.requests;
        if (rep.failure != TG_EXPORT_DELIVERED) {
            failed++;
            fprintf(stderr, "export failed: %s\n", rep.message);
        }
        for (long i = 0; i < n; i++)
            tg_span_destroy(spans[i]);
        done += n;
    }
    double wall = now_s() - w0, cpu = cpu_s() - c0;
    printf("{\"exporter\":\"tracegate\",\"protocol\":\"%s\",\"spans\":%ld,\"seconds\":%.4f,"
           "\"cpu_seconds\":%.4f,\"spans_per_cpu_second\":%.0f,\"requests\":%ld,"
           "\"failed_batches\":%ld}\n",
           argv[2], total, wall, cpu, cpu > 0 ? (double)total / cpu : 0.0, requests, failed);
    ex.shutdown(ex.ctx);
    free(spans);
    tg_otlp_resource_fini(&res);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
