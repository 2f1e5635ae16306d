/*
 * tracegate: process setup and teardown. Builds the configuration, opens one
 * listening socket per worker, starts the workers and waits for a signal;
 * SIGTERM or SIGINT drains them (stop accepting, finish in-flight requests
 * up to shutdown_timeout_ms) and exits 0; SIGHUP reloads (reload.h).
 */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>

#include "accesslog.h"
#include "config.h"
#include "confset.h"
#include "listener.h"
#include "operator.h"
#include "reload.h"
#include "reserve.h"
#include "tg_version.h"
#include "trace.h"
#include "worker.h"

#define LISTEN_BACKLOG 4096

static void print_diag(const struct tg_diag *d)
{
    for (int i = 0; i < d->count; i++) {
        fprintf(stderr, "%s\n", d->line[i]);
    }
    if (d->dropped > 0) {
        fprintf(stderr, "tracegate: %d more errors not shown\n", d->dropped);
    }
}

/* Client and upstream sockets both count against the fd limit. */
static void raise_fd_limit(const struct tg_config *cfg)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Each client connection holds a descriptor, and one more for its
     * upstream while it is proxied. Past the limit new clients wait in the
     * listen backlog and upstream connects are answered 503 until
     * descriptors free up: say so now if max_connections cannot fit. */
    uint64_t need = cfg->max_connections + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < need) {
        fprintf(stderr, "tracegate: warning: the open file limit (%llu) is below "
                        "max_connections (%llu) + 64; raise it (ulimit -n) or lower "
                        "max_connections\n",
                (unsigned long long)rl.rlim_cur, (unsigned long long)cfg->max_connections);
    }
}

/* One startup line saying how requests will be traced. */
static void log_tracing(const struct tg_config *cfg)
{
    const struct tg_tracing_conf *t = &cfg->tracing;
    char exporter[512];
    tg_tracer_export_describe(cfg, exporter, sizeof(exporter));
    fprintf(stderr, "tracegate: tracing %s, sampler %s (rate %g), exporter %s\n",
            t->enabled ? "enabled" : "disabled (context still propagated, not sampled)",
            tg_sampler_kind_name((enum tg_sampler_kind)t->sampler), t->sampler_arg, exporter);
}

static int serve(struct tg_config *cfg, const struct tg_cli *cli)
{
    struct tg_accesslog log;
    struct tg_tracer *tracer = NULL;
    struct tg_operator *op = NULL;
    struct tg_worker **workers = calloc((size_t)cfg->workers, sizeof(*workers));
    uint16_t port = cfg->listen_port;
    sigset_t sigs;
    int started = 0;
    int r;

    if (workers == NULL) {
        return 1;
    }
    r = tg_accesslog_open(cfg->access_log, &log);
    if (r < 0) {
        fprintf(stderr, "tracegate: cannot open access log %s: %s\n", cfg->access_log,
                strerror(-r));
        free(workers);
        return 1;
    }
    char err[256];
    r = tg_tracer_create(cfg, &tracer, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "tracegate: %s\n", err);
        tg_accesslog_close(&log);
        free(workers);
        return 1;
    }
    /* Before workers: it adds the /admin route and the routes' slots. */
    r = tg_operator_create(cfg, tracer, &op, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "tracegate: %s\n", err);
        tg_tracer_shutdown(tracer);
        tg_tracer_destroy(tracer);
        tg_accesslog_close(&log);
        free(workers);
        return 1;
    }
    for (int i = 0; i < cfg->workers; i++) {
        int fd = tg_listener_open(cfg->listen_host, &port, LISTEN_BACKLOG);
        if (fd < 0) {
            fprintf(stderr, "tracegate: cannot listen on %s:%u: %s\n", cfg->listen_host,
                    (unsigned)port, strerror(-fd));
            goto stop;
        }
        r = tg_worker_create(i, cfg, fd, &log, tracer, &workers[i]);
        if (r < 0) {
            fprintf(stderr, "tracegate: cannot start worker %d: %s\n", i, strerror(-r));
            goto stop;
        }
        r = tg_worker_start(workers[i]);
        if (r < 0) {
            fprintf(stderr, "tracegate: cannot start worker thread: %s\n", strerror(-r));
            tg_worker_destroy(workers[i]);
            workers[i] = NULL;
            goto stop;
        }
        started++;
    }
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    fprintf(stderr, "tracegate: listening on http://%s%s%s:%u (%d workers)\n", v6 ? "[" : "",
            cfg->listen_host, v6 ? "]" : "", (unsigned)port, cfg->workers);
    log_tracing(cfg);
    char where[320];
    tg_operator_describe(op, where, sizeof(where));
    if (cfg->admin.token != NULL) {
        fprintf(stderr, "tracegate: admin endpoints %s (token from %s)\n", where,
                cfg->admin.token_from);
    } else {
        fprintf(stderr, "tracegate: admin endpoints %s (no token configured: changes are "
                        "refused; set TELEMETRY_ADMIN_TOKEN)\n", where);
    }
    tg_operator_set_serving(op, true);

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            if (tg_reload(cli, cfg, op) == 0) {
                for (int i = 0; i < cfg->workers; i++) {
                    tg_worker_wake(workers[i]);
                }
            }
            continue;
        }
        fprintf(stderr, "tracegate: %s received, draining (up to %lld ms)\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", (long long)cfg->shutdown_timeout_ms);
        break;
    }
    r = 0;

stop:;
    int cut = 0;
    if (op != NULL) {
        tg_operator_set_serving(op, false);
    }
    for (int i = 0; i < cfg->workers; i++) {
        if (workers[i] != NULL) {
            tg_worker_stop(workers[i]);
        }
    }
    for (int i = 0; i < cfg->workers; i++) {
        if (workers[i] != NULL) {
            cut += tg_worker_join(workers[i]);
            tg_worker_destroy(workers[i]);
        }
    }
    /* Workers are gone: every span they finished is queued; flush them. */
    tg_operator_destroy(op);
    tg_tracer_shutdown(tracer);
    char summary[2048];
    tg_tracer_summary(tracer, summary, sizeof(summary));
    fprintf(stderr, "tracegate: tracing totals %s\n", summary);
    tg_tracer_destroy(tracer);
    if (started == cfg->workers) {
        fprintf(stderr, "tracegate: stopped; %d requests cut at the shutdown deadline\n", cut);
    }
    tg_accesslog_close(&log);
    free(workers);
    return started == cfg->workers && r == 0 ? 0 : 1;
}

/* Takes cfg: it becomes the first published version, and the boot
 * configuration (the settings a reload cannot change) until exit. The
 * operator adds its /admin route before any worker reads it. */
static int run(struct tg_config *cfg, const struct tg_cli *cli)
{
    struct tg_confver *boot = NULL;
    if (tg_confset_publish(cfg) < 0 || (boot = tg_confset_acquire()) == NULL) {
        fprintf(stderr, "tracegate: out of memory\n");
        tg_confset_fini();
        return 1;
    }
    int r = serve(cfg, cli);
    tg_confset_fini();
    tg_confset_release(boot); /* the last reference: frees cfg */
    return r;
}

int main(int argc, char **argv)
{
    struct tg_diag diag = {0};
    struct tg_cli cli;
    struct tg_config *cfg = NULL;
    sigset_t sigs;

    if (tg_cli_parse(argc, argv, &cli, &diag) < 0) {
        print_diag(&diag);
        tg_cli_fini(&cli);
        return 2;
    }
    if (cli.help) {
        fputs(tg_cli_usage(), stdout);
        tg_cli_fini(&cli);
        return 0;
    }
    if (cli.version) {
        printf("tracegate %s\n", TG_VERSION);
        tg_cli_fini(&cli);
        return 0;
    }
    int r = tg_config_build(&cli, &cfg, &diag);
    if (cli.check_config) {
        print_diag(&diag);
        if (r == 0) {
            printf("%s: configuration OK\n", cli.config_path ? cli.config_path : "(flags)");
        }
        tg_config_destroy(cfg);
        tg_cli_fini(&cli);
        return r == 0 ? 0 : 1;
    }
    if (r < 0) {
        print_diag(&diag);
        tg_cli_fini(&cli);
        return 1;
    }

    /* Signals are taken by sigwait() in main only; workers never see them. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    raise_fd_limit(cfg);
    /* No fastbins in glibc's allocator. libcurl 7.88 allocates and frees
     * a 16 KiB receive buffer and a 1.3 KiB connection record on every
     * transfer; each such allocation or free first merges every fastbin
     * chunk of the arena, which with hundreds of requests in flight is a
     * walk over cold memory on every request. Small blocks still come from
     * the per-thread cache (tcache) first. */
    mallopt(M_MXFAST, 0);
    if (tg_reserve_curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "tracegate: cannot set up libcurl (out of memory?)\n");
        tg_config_destroy(cfg);
        tg_cli_fini(&cli);
        return 1;
    }
    /* cli stays for reloads: they build from the same command line. */
    r = run(cfg, &cli);
    curl_global_cleanup();
    tg_cli_fini(&cli);
    return r;
}
