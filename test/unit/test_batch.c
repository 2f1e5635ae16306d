#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "span.h"
#include "spanqueue.h"
#include "batch_test.h"
#include "test.h"

#define MAX_CALLS 4096
#define MAX_RECORDED 4096

/* A real exporter that keeps what it was given: batch sizes, the thread
 * of each call and the start times of the spans (used as sequence
 * numbers). It can fail on demand and can hold an export until released. */
struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    size_t calls;
    size_t sizes[MAX_CALLS];
    pthread_t threads[MAX_CALLS];
    int64_t call_ms[MAX_CALLS];      /* monotonic time of each call */
    size_t spans;
    int64_t seq[MAX_RECORDED];       /* start_unix_ns of the spans, in order */
    int shutdowns;
    bool fail;
    bool hold;                       /* block in export until cleared */
    bool holding;                    /* an export is blocked now */
    _Atomic bool in_export;
    _Atomic int reentries;
    _Atomic pid_t tid;               /* kernel id of the exporting thread */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void recorder_init(struct recorder *r)
{
    pthread_condattr_t ca;

    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void recorder_fini(struct recorder *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
}

static void record_export(void *ctx, struct tg_span *const *spans, size_t n,
                          int64_t deadline_ns, struct tg_export_report *rep)
{
    (void)deadline_ns;
    struct recorder *r = ctx;

    if (atomic_exchange(&r->in_export, true)) {
        atomic_fetch_add(&r->reentries, 1);
    }
    atomic_store(&r->tid, gettid());
    pthread_mutex_lock(&r->mu);
    if (r->calls < MAX_CALLS) {
        r->sizes[r->calls] = n;
        r->threads[r->calls] = pthread_self();
        r->call_ms[r->calls] = now_ms();
    }
    r->calls++;
    for (size_t i = 0; i < n; i++) {
        if (r->spans < MAX_RECORDED) {
            r->seq[r->spans] = spans[i]->start_unix_ns;
        }
        r->spans++;
    }
    bool fail = r->fail;
    pthread_cond_broadcast(&r->cond);
    while (r->hold) {
        r->holding = true;
        pthread_cond_broadcast(&r->cond);
        pthread_cond_wait(&r->cond, &r->mu);
    }
    r->holding = false;
    pthread_mutex_unlock(&r->mu);
    /* Stay "inside" a little while so an overlapping call would be seen. */
    sched_yield();
    atomic_store(&r->in_export, false);
    rep->requests = 1;
    if (fail)
        rep->failure = TG_EXPORT_NOT_RETRYABLE;
}

static void record_shutdown(void *ctx)
{
    struct recorder *r = ctx;

    pthread_mutex_lock(&r->mu);
    r->shutdowns++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* test_batch is linked with -Wl,--wrap=tg_spanqueue_push, so a test can hold
 * one submit between its check for shutdown and its push: the window a
 * racing shutdown has to respect, far too narrow to hit by chance. The
 * held push waits until the exporter has been shut down, or STALL_MS. */
#define STALL_MS 200
size_t __real_tg_spanqueue_push(struct tg_spanqueue *q, struct tg_span *s);
size_t __wrap_tg_spanqueue_push(struct tg_spanqueue *q, struct tg_span *s);

static struct recorder *_Atomic stall_next_push;
static _Atomic bool stalled;

size_t __wrap_tg_spanqueue_push(struct tg_spanqueue *q, struct tg_span *s)
{
    struct recorder *r = atomic_exchange(&stall_next_push, NULL);

    if (r != NULL) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += STALL_MS * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&r->mu);
        atomic_store(&stalled, true);
        pthread_cond_broadcast(&r->cond);
        while (r->shutdowns == 0 &&
               pthread_cond_timedwait(&r->cond, &r->mu, &deadline) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&r->mu);
    }
    return __real_tg_spanqueue_push(q, s);
}

static struct tg_exporter recorder_exporter(struct recorder *r)
{
    struct tg_exporter ex = {record_export, NULL, record_shutdown, r};
    return ex;
}

/* Wait until at least `calls` exports have started. False on timeout. */
static bool wait_calls(struct recorder *r, size_t calls)
{
    struct timespec deadline;
    bool ok = true;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&r->mu);
    while (r->calls < calls && ok) {
        ok = pthread_cond_timedwait(&r->cond, &r->mu, &deadline) != ETIMEDOUT ||
             r->calls >= calls;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

/* Wait until an export is blocked in the recorder's hold. */
static bool wait_holding(struct recorder *r)
{
    struct timespec deadline;
    bool ok = true;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&r->mu);
    while (!r->holding && ok) {
        ok = pthread_cond_timedwait(&r->cond, &r->mu, &deadline) != ETIMEDOUT ||
             r->holding;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

/* Wait until the kernel reports thread tid as sleeping ('S'). Used to know
 * that the processor thread is parked in its wait before the test fills a
 * batch, so the wake-up path is the one under test. Reads with open/read
 * (no allocation) so the test itself cannot contend with the thread. */
static bool wait_sleeping(pid_t tid)
{
    char path[64], buf[512];
    int64_t deadline = now_ms() + WAIT_MS;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    while (now_ms() < deadline) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            return false;
        }
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0) {
            return false;
        }
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        if (p != NULL && p[1] == ' ' && p[2] == 'S') {
            return true;
        }
        sched_yield();
    }
    return false;
}

static void release_hold(struct recorder *r)
{
    pthread_mutex_lock(&r->mu);
    r->hold = false;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

static size_t calls_now(struct recorder *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->calls;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void create_rejects_bad_conf(void)
{
    struct recorder r;
    struct tg_exporter ex;
    struct tg_batch_conf c;

    recorder_init(&r);
    ex = recorder_exporter(&r);
    c = conf_of(100, 0, 1);
    CHECK(tg_batch_create(&c, &ex) == NULL);
    c = conf_of(100, 10, 0);
    CHECK(tg_batch_create(&c, &ex) == NULL);
    c = conf_of(100, 10, 11);
    CHECK(tg_batch_create(&c, &ex) == NULL);
    c = conf_of(-1, 10, 5);
    CHECK(tg_batch_create(&c, &ex) == NULL);
    c = conf_of(100, 10, 10);
    struct tg_batch *b = tg_batch_create(&c, &ex);
    CHECK(b != NULL);
    tg_batch_destroy(b);
    CHECK(r.shutdowns == 1);
    recorder_fini(&r);
}

/* A full batch goes out at once: the schedule delay is a minute, the test
 * waits at most WAIT_MS. Spans are queued while the processor cannot be
 * looking (before start, or while it is held in an export) so that batch
 * sizes are exact. */
static void exports_at_batch_size_without_timer(void)
{
    struct recorder r;
    recorder_init(&r);
    r.hold = true;
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 64, 8);
    struct tg_batch *b = tg_batch_create(&c, &ex);
    int64_t seq = 0;

    CHECK(b != NULL);
    for (; seq < 8; seq++) {
        tg_batch_submit(b, span_seq(seq));
    }
    CHECK(tg_batch_start(b) == 0);
    CHECK(wait_holding(&r));
    /* A backlog of three batches and a bit: sent back to back. */
    for (; seq < 8 + 8 * 3 + 3; seq++) {
        tg_batch_submit(b, span_seq(seq));
    }
    release_hold(&r);
    CHECK(wait_calls(&r, 4));
    /* The processor now parks with three spans queued; filling the batch
     * must wake it. */
    CHECK(wait_sleeping(atomic_load(&r.tid)));
    CHECK(tg_batch_queue_size(b) == 3);
    CHECK(calls_now(&r) == 4);
    for (; seq < 8 + 8 * 3 + 3 + 5; seq++) {
        tg_batch_submit(b, span_seq(seq));
    }
    CHECK(wait_calls(&r, 5));
    /* Less than a batch is not sent until shutdown. */
    for (; seq < 8 + 8 * 3 + 3 + 5 + 3; seq++) {
        tg_batch_submit(b, span_seq(seq));
    }
    tg_batch_shutdown(b, -1);
    static const size_t want[] = {8, 8, 8, 8, 8, 3};
    CHECK(r.calls == 6);
    for (size_t i = 0; i < 6 && i < r.calls; i++) {
        CHECK(r.sizes[i] == want[i]);
        CHECK(!pthread_equal(r.threads[i], pthread_self()));
        CHECK(i == 5 || r.call_ms[i] - r.call_ms[0] < WAIT_MS);
    }
    /* One producer: exported in submission order. */
    CHECK(r.spans == (size_t)seq);
    for (int64_t i = 0; i < seq; i++) {
        CHECK(r.seq[i] == i);
    }
    CHECK(r.shutdowns == 1);
    CHECK(STAT(b, exported) == (uint64_t)seq);
    CHECK(STAT(b, export_calls) == 6);
    check_accounting(b, (uint64_t)seq);
    tg_batch_destroy(b);
    CHECK(r.shutdowns == 1);
    CHECK(atomic_load(&r.reentries) == 0);
    recorder_fini(&r);
}

/* Less than a batch goes out when the schedule delay has passed, not
 * before. */
static void timer_exports_partial_batch(void)
{
    struct recorder r;
    recorder_init(&r);
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(100, 64, 32);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    int64_t started = now_ms();
    CHECK(b != NULL && tg_batch_start(b) == 0);
    for (int i = 0; i < 3; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    CHECK(wait_calls(&r, 1));
    CHECK(r.sizes[0] == 3);
    CHECK(r.call_ms[0] - started >= 100 - 5); /* ms rounding only */
    CHECK(!pthread_equal(r.threads[0], pthread_self()));
    /* And again on the next period. */
    tg_batch_submit(b, span_seq(3));
    CHECK(wait_calls(&r, 2));
    CHECK(r.sizes[1] == 1);
    CHECK(r.call_ms[1] - r.call_ms[0] >= 100 - 5);
    tg_batch_shutdown(b, -1);
    CHECK(r.calls == 2);
    check_accounting(b, 4);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

/* A zero schedule delay exports promptly and does not leave the idle
 * thread spinning (measured as CPU time while idle). */
static void zero_delay_is_prompt_and_idle(void)
{
    struct recorder r;
    recorder_init(&r);
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(0, 64, 32);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    CHECK(b != NULL && tg_batch_start(b) == 0);
    tg_batch_submit(b, span_seq(0));
    CHECK(wait_calls(&r, 1));
    CHECK(r.sizes[0] == 1);
    /* Idle for a while: wait on a condition that never comes true, on
     * purpose, then look at how much CPU the process used meanwhile. */
    struct timespec cpu0, cpu1, deadline;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 300 * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r.mu);
    while (r.calls < 2 &&
           pthread_cond_timedwait(&r.cond, &r.mu, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&r.mu);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    int64_t cpu_ms = (cpu1.tv_sec - cpu0.tv_sec) * 1000 +
                     (cpu1.tv_nsec - cpu0.tv_nsec) / 1000000;
    CHECK(cpu_ms < 20); /* spinning costs 60+ even with the kernel's timer slack */
    if (cpu_ms >= 20) {
        fprintf(stderr, "  idle processor used %lld ms of CPU in 300 ms\n",
                (long long)cpu_ms);
    }
    tg_batch_shutdown(b, -1);
    check_accounting(b, 1);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

static void shutdown_flushes_everything(void)
{
    struct recorder r;
    recorder_init(&r);
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 1000, 16);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    CHECK(b != NULL && tg_batch_start(b) == 0);
    for (int i = 0; i < 100; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    tg_batch_shutdown(b, -1);
    CHECK(r.spans == 100);
    size_t sum = 0;
    for (size_t i = 0; i < r.calls; i++) {
        CHECK(r.sizes[i] >= 1 && r.sizes[i] <= 16);
        CHECK(!pthread_equal(r.threads[i], pthread_self()));
        sum += r.sizes[i];
    }
    CHECK(sum == 100);
    CHECK(r.calls >= 7); /* 100 spans in batches of at most 16 */
    for (int64_t i = 0; i < 100; i++) {
        CHECK(r.seq[i] == i);
    }
    CHECK(STAT(b, exported) == 100);
    CHECK(r.shutdowns == 1);
    check_accounting(b, 100);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

/* Never started (the proxy failed before starting tracing): shutdown still
 * exports what was queued. */
static void shutdown_without_start_flushes(void)
{
    struct recorder r;
    recorder_init(&r);
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 100, 4);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    for (int i = 0; i < 10; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    tg_batch_shutdown(b, -1);
    CHECK(r.calls == 3);
    CHECK(r.sizes[0] == 4 && r.sizes[1] == 4 && r.sizes[2] == 2);
    CHECK(STAT(b, exported) == 10);
    check_accounting(b, 10);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

/* With the exporter held inside a call, the queue fills to exactly its
 * size and every span past it is dropped and counted. */
static void full_queue_counts_dropped_exactly(void)
{
    struct recorder r;
    recorder_init(&r);
    r.hold = true;
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 10, 5);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    CHECK(b != NULL);
    for (int i = 0; i < 5; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    CHECK(tg_batch_start(b) == 0);
    CHECK(wait_holding(&r));
    CHECK(tg_batch_queue_size(b) == 0);
    for (int i = 5; i < 5 + 10 + 7; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    CHECK(tg_batch_queue_size(b) == 10);
    CHECK(STAT(b, dropped_full) == 7);
    CHECK(STAT(b, queued) == 15);
    release_hold(&r);
    tg_batch_shutdown(b, -1);
    CHECK(STAT(b, exported) == 15);
    CHECK(STAT(b, dropped_full) == 7);
    CHECK(r.spans == 15);
    /* The ones that got in are the first fifteen, in order. */
    for (int64_t i = 0; i < 15; i++) {
        CHECK(r.seq[i] == i);
    }
    check_accounting(b, 22);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

static void submit_after_shutdown_is_dropped(void)
{
    struct recorder r;
    recorder_init(&r);
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 10, 5);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    CHECK(b != NULL && tg_batch_start(b) == 0);
    tg_batch_submit(b, span_seq(0));
    tg_batch_shutdown(b, -1);
    size_t calls = r.calls;
    for (int i = 1; i <= 3; i++) {
        tg_batch_submit(b, span_seq(i)); /* freed by the processor */
    }
    CHECK(STAT(b, dropped_shutdown) == 3);
    CHECK(STAT(b, exported) == 1);
    CHECK(r.calls == calls);
    tg_batch_shutdown(b, -1); /* twice is harmless */
    CHECK(r.shutdowns == 1);
    check_accounting(b, 4);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

static void exporter_failure_is_counted(void)
{
    struct recorder r;
    recorder_init(&r);
    r.fail = true;
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 64, 4);
    struct tg_batch *b = tg_batch_create(&c, &ex);

    CHECK(b != NULL);
    for (int i = 0; i < 8; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    CHECK(tg_batch_start(b) == 0);
    CHECK(wait_calls(&r, 2));
    pthread_mutex_lock(&r.mu);
    r.fail = false;
    pthread_mutex_unlock(&r.mu);
    for (int i = 8; i < 11; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    tg_batch_shutdown(b, -1);
    CHECK(STAT(b, dropped_not_retryable) == 8);
    CHECK(STAT(b, export_failures) == 2);
    CHECK(STAT(b, exported) == 3);
    CHECK(STAT(b, export_calls) == 3);
    check_accounting(b, 11);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

/* Several workers submit while the timer and full batches both trigger
 * exports: calls never overlap, all come from one thread, and the books
 * balance. */
#define WORKERS 3
#define PER_WORKER 20000

struct worker_arg {
    struct tg_batch *b;
    _Atomic bool *stop;     /* NULL: submit PER_WORKER spans */
    uint64_t submitted;
};

static void *worker(void *arg)
{
    struct worker_arg *w = arg;

    for (int64_t i = 0; w->stop ? !atomic_load(w->stop) : i < PER_WORKER; i++) {
        struct tg_span *s = span_seq(i);
        if (s == NULL) {
            break;
        }
        tg_batch_submit(w->b, s);
        w->submitted++;
    }
    return NULL;
}

static void exports_never_overlap(void)
{
    struct recorder *r = malloc(sizeof(*r));
    recorder_init(r);
    struct tg_exporter ex = recorder_exporter(r);
    struct tg_batch_conf c = conf_of(1, 256, 64);
    struct tg_batch *b = tg_batch_create(&c, &ex);
    pthread_t t[WORKERS];
    struct worker_arg args[WORKERS];

    CHECK(b != NULL && tg_batch_start(b) == 0);
    for (int i = 0; i < WORKERS; i++) {
        args[i] = (struct worker_arg){b, NULL, 0};
        CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(t[i], NULL);
    }
    tg_batch_shutdown(b, -1);
    CHECK(atomic_load(&r->reentries) == 0);
    CHECK(r->calls > 0);
    for (size_t i = 1; i < r->calls && i < MAX_CALLS; i++) {
        CHECK(pthread_equal(r->threads[i], r->threads[0]));
        CHECK(r->sizes[i] >= 1 && r->sizes[i] <= 64);
    }
    CHECK(STAT(b, exported) == r->spans);
    CHECK(STAT(b, export_calls) == r->calls);
    check_accounting(b, WORKERS * PER_WORKER);
    tg_batch_destroy(b);
    recorder_fini(r);
    free(r);
}

/* Workers still submitting while shutdown runs: once shutdown returns,
 * nothing more enters the queue, so the books balance as soon as the
 * workers are joined. Repeated to give the race a chance to show. */
static void shutdown_races_with_submit(void)
{
    int failed_before = test_failed_checks;

    for (int round = 0; round < 12; round++) {
        struct recorder *r = malloc(sizeof(*r));
        recorder_init(r);
        struct tg_exporter ex = recorder_exporter(r);
        struct tg_batch_conf c = conf_of(1, 512, 64);
        struct tg_batch *b = tg_batch_create(&c, &ex);
        pthread_t t[WORKERS];
        struct worker_arg args[WORKERS];
        _Atomic bool stop = false;

        CHECK(b != NULL && tg_batch_start(b) == 0);
        for (int i = 0; i < WORKERS; i++) {
            args[i] = (struct worker_arg){b, &stop, 0};
            CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
        }
        /* Let the workers get going, then shut down under them. */
        while (STAT(b, queued) + STAT(b, dropped_full) < 2000) {
            sched_yield();
        }
        tg_batch_shutdown(b, -1);
        uint64_t exported_at_shutdown = STAT(b, exported) + LOST(b);
        atomic_store(&stop, true);
        uint64_t submitted = 0;
        for (int i = 0; i < WORKERS; i++) {
            pthread_join(t[i], NULL);
            submitted += args[i].submitted;
        }
        CHECK(STAT(b, exported) + LOST(b) == exported_at_shutdown);
        check_accounting(b, submitted);
        CHECK(atomic_load(&r->reentries) == 0);
        tg_batch_destroy(b);
        recorder_fini(r);
        free(r);
        if (test_failed_checks > failed_before) {
            fprintf(stderr, "  failed in round %d\n", round);
            break;
        }
    }
}

struct one_submit {
    struct tg_batch *b;
    int64_t seq;
};

static void *submit_one(void *arg)
{
    struct one_submit *o = arg;

    tg_batch_submit(o->b, span_seq(o->seq));
    return NULL;
}

/* A submit that passed its shutdown check before shutdown began must not
 * push after the final drain: shutdown waits for it, and the span is
 * exported before the exporter shuts down. */
static void shutdown_waits_for_submit_in_flight(void)
{
    struct recorder r;
    recorder_init(&r);
    struct tg_exporter ex = recorder_exporter(&r);
    struct tg_batch_conf c = conf_of(60000, 16, 8);
    struct tg_batch *b = tg_batch_create(&c, &ex);
    struct one_submit o = {b, 7};
    pthread_t t;

    CHECK(b != NULL && tg_batch_start(b) == 0);
    atomic_store(&stalled, false);
    atomic_store(&stall_next_push, &r);
    CHECK(pthread_create(&t, NULL, submit_one, &o) == 0);
    pthread_mutex_lock(&r.mu);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    while (!atomic_load(&stalled) &&
           pthread_cond_timedwait(&r.cond, &r.mu, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&r.mu);
    CHECK(atomic_load(&stalled));
    tg_batch_shutdown(b, -1);
    /* Shutdown has returned: the span is already exported. */
    CHECK(r.spans == 1 && r.calls == 1);
    CHECK(r.spans == 1 && r.seq[0] == 7);
    CHECK(STAT(b, exported) == 1);
    pthread_join(t, NULL);
    CHECK(STAT(b, dropped_shutdown) == 0);
    check_accounting(b, 1);
    tg_batch_destroy(b);
    recorder_fini(&r);
}

int main(void)
{
    RUN(create_rejects_bad_conf);
    RUN(exports_at_batch_size_without_timer);
    RUN(timer_exports_partial_batch);
    RUN(zero_delay_is_prompt_and_idle);
    RUN(shutdown_flushes_everything);
    RUN(shutdown_without_start_flushes);
    RUN(full_queue_counts_dropped_exactly);
    RUN(submit_after_shutdown_is_dropped);
    RUN(exporter_failure_is_counted);
    RUN(exports_never_overlap);
    RUN(shutdown_races_with_submit);
    RUN(shutdown_waits_for_submit_in_flight);
    return TEST_SUMMARY();
}
