/*
 * An LD_PRELOAD library that makes allocations fail on chosen threads, to
 * check that tracegate answers (503, or closes the connection) instead of
 * crashing when memory runs out in the request path.
 *
 *   LD_PRELOAD=build/test/fault/libmalloc_fail.so \
 *   TG_MALLOC_FAIL='p=0.01,seed=7' tracegate ...
 *
 * TG_MALLOC_FAIL is a comma-separated list:
 *   p=F         each allocation on a chosen thread fails with probability F
 *   after=N     ... only once N allocations were made on chosen threads
 *   count=K     ... and at most K times in all (0: no limit)
 *   stop_ms=T   ... and only in the first T ms after the library was loaded
 *   threads=S   chosen threads: those whose name starts with S
 *               ("tg-worker", tracegate's request threads, by default)
 *   from=S      only allocations asked for by code in one object: "exe"
 *               (tracegate's own code, directly or through a libc function
 *               such as strdup), or a library name part ("libcurl",
 *               "libmicrohttpd"); the default is every caller. libcurl
 *               allocates through hooks in the program
 *               (curl_global_init_mem): a frame of the program called
 *               directly by libcurl counts as libcurl's
 *   seed=N      seed of the per-thread random sequence
 * Without p, every allocation after `after` fails (up to count).
 * malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign are
 * covered; glibc's own strdup, fopen... call malloc and are covered too.
 * free is passed through.
 *
 * At exit it writes one line to stderr:
 *   malloc_fail: F of N allocations on chosen threads failed
 *
 * Works under AddressSanitizer with ASAN_OPTIONS=verify_asan_link_order=0:
 * this library then comes before the ASan runtime and forwards to it.
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TLS __attribute__((tls_model("initial-exec"))) __thread

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

/* dlsym may allocate before the real functions are known: serve it from
 * here (never freed; free() ignores these addresses). */
static char boot_heap[65536] __attribute__((aligned(16)));
static size_t boot_used;

static struct {
    bool configured;
    double p;              /* 0: fail every allocation past `after` */
    uint64_t after;
    uint64_t count;        /* 0: unlimited */
    uint64_t stop_ms;      /* 0: no end */
    char threads[16];
    char from[32];         /* "": any caller */
    uint64_t seed;
} cfg = {.threads = "tg-worker"};

/* Executable segments of the loaded objects, to tell who called. */
#define MAX_SEGS 256
static struct seg {
    uintptr_t start, end;
    int kind;              /* K_* below */
    bool hooked;           /* allocates through hooks in the program */
} segs[MAX_SEGS];
static int nsegs;
enum { K_OTHER, K_EXE, K_LIBC, K_SELF, K_MATCH };
static atomic_int segs_state;   /* 0 none, 1 building, 2 ready */

static atomic_uint_fast64_t chosen_calls;
static atomic_uint_fast64_t failures;
static atomic_bool resolving;
static uint64_t loaded_ns;

static TLS int thread_kind;       /* 0 unknown, 1 chosen, 2 not (re-checked) */
static TLS unsigned recheck;
static TLS uint64_t rng;
static TLS bool inside;           /* no injection while we are the caller */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool in_boot(const void *p)
{
    return (const char *)p >= boot_heap && (const char *)p < boot_heap + sizeof(boot_heap);
}

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof(boot_heap)) {
        return NULL;
    }
    void *p = boot_heap + boot_used;
    boot_used += n;
    return p;
}

/* Own number readers: this runs inside the first malloc, where a
 * sanitizer's strtod interceptor may not be ready yet. */
static uint64_t read_u64(const char *s)
{
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    return v;
}

static double read_fraction(const char *s)
{
    double v = (double)read_u64(s);
    while (*s >= '0' && *s <= '9') {
        s++;
    }
    if (*s == '.') {
        double scale = 0.1;
        for (s++; *s >= '0' && *s <= '9'; s++) {
            v += (*s - '0') * scale;
            scale /= 10;
        }
    }
    return v;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; i + 1 < cap && src[i] != '\0'; i++) {
        dst[i] = src[i];
    }
    dst[i] = '\0';
}

static void parse_config(void)
{
    const char *s = getenv("TG_MALLOC_FAIL");
    if (s == NULL) {
        return; /* not configured: nothing fails */
    }
    while (*s != '\0') {
        const char *end = strchr(s, ',');
        size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
        char item[64];
        if (len < sizeof(item)) {
            memcpy(item, s, len);
            item[len] = '\0';
            char *v = strchr(item, '=');
            if (v != NULL) {
                *v++ = '\0';
                if (strcmp(item, "p") == 0) {
                    cfg.p = read_fraction(v);
                } else if (strcmp(item, "after") == 0) {
                    cfg.after = read_u64(v);
                } else if (strcmp(item, "count") == 0) {
                    cfg.count = read_u64(v);
                } else if (strcmp(item, "stop_ms") == 0) {
                    cfg.stop_ms = read_u64(v);
                } else if (strcmp(item, "seed") == 0) {
                    cfg.seed = read_u64(v);
                } else if (strcmp(item, "threads") == 0) {
                    copy_str(cfg.threads, sizeof(cfg.threads), v);
                } else if (strcmp(item, "from") == 0) {
                    copy_str(cfg.from, sizeof(cfg.from), v);
                }
            }
        }
        s += len;
        if (*s == ',') {
            s++;
        }
    }
    cfg.configured = true;
}

static void resolve(void)
{
    if (real_malloc != NULL) {
        return;
    }
    atomic_store(&resolving, true);
    /* dlsym returns void *; POSIX has function pointers stored through it. */
    *(void **)&real_malloc = dlsym(RTLD_NEXT, "malloc");
    *(void **)&real_calloc = dlsym(RTLD_NEXT, "calloc");
    *(void **)&real_realloc = dlsym(RTLD_NEXT, "realloc");
    *(void **)&real_free = dlsym(RTLD_NEXT, "free");
    *(void **)&real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    *(void **)&real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    *(void **)&real_memalign = dlsym(RTLD_NEXT, "memalign");
    atomic_store(&resolving, false);
}

static bool chosen_thread(void)
{
    if (thread_kind == 1) {
        return true;
    }
    /* A thread may be named after its first allocations: look again now
     * and then. */
    if (thread_kind == 0 || ++recheck % 64 == 0) {
        char name[17] = {0};
        prctl(PR_GET_NAME, name, 0, 0, 0);
        thread_kind = strncmp(name, cfg.threads, strlen(cfg.threads)) == 0 ? 1 : 2;
        if (thread_kind == 1) {
            rng = cfg.seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)syscall(SYS_gettid) ^
                  0x2545f4914f6cdd1dull;
            if (rng == 0) {
                rng = 1;
            }
        }
    }
    return thread_kind == 1;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    const char *name = info->dlpi_name != NULL ? info->dlpi_name : "";
    int kind = K_OTHER;
    static int index;
    if (index++ == 0) {
        kind = K_EXE;  /* the first object is the program itself */
    } else if (strstr(name, "/libc.so") != NULL || strstr(name, "/libasan.so") != NULL ||
               strstr(name, "/libubsan.so") != NULL) {
        /* passed through: libc's strdup..., a sanitizer's interceptors */
        kind = K_LIBC;
    } else if (strstr(name, "malloc_fail") != NULL) {
        kind = K_SELF;
    } else if (cfg.from[0] != '\0' && strstr(name, cfg.from) != NULL) {
        kind = K_MATCH;
    }
    if (strcmp(cfg.from, "exe") == 0 && kind == K_EXE) {
        kind = K_MATCH;
    }
    for (int i = 0; i < info->dlpi_phnum && nsegs < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            segs[nsegs].start = info->dlpi_addr + ph->p_vaddr;
            segs[nsegs].end = segs[nsegs].start + ph->p_memsz;
            segs[nsegs].kind = kind;
            segs[nsegs].hooked = strstr(name, "/libcurl") != NULL;
            nsegs++;
        }
    }
    return 0;
}

static const struct seg *seg_of(void *pc)
{
    uintptr_t a = (uintptr_t)pc;
    for (int i = 0; i < nsegs; i++) {
        if (a >= segs[i].start && a < segs[i].end) {
            return &segs[i];
        }
    }
    return NULL;
}

static int kind_of(void *pc)
{
    const struct seg *s = seg_of(pc);
    return s != NULL ? s->kind : K_OTHER;
}

/* Does the allocation being made come from the object named by from=?
 * The first caller outside this library and libc decides, so that
 * tracegate's strdup() counts as tracegate's. */
static bool caller_matches(void)
{
    if (cfg.from[0] == '\0') {
        return true;
    }
    if (atomic_load(&segs_state) != 2) {
        int expect = 0;
        if (!atomic_compare_exchange_strong(&segs_state, &expect, 1)) {
            return false; /* another thread is building the table */
        }
        dl_iterate_phdr(add_object, NULL);
        atomic_store(&segs_state, 2);
    }
    void *frames[8];
    int n = backtrace(frames, 8);
    for (int i = 0; i < n; i++) {
        int k = kind_of(frames[i]);
        if (k == K_SELF || k == K_LIBC) {
            continue;
        }
        if (k == K_EXE || (k == K_MATCH && strcmp(cfg.from, "exe") == 0)) {
            const struct seg *next = i + 1 < n ? seg_of(frames[i + 1]) : NULL;
            if (next != NULL && next->hooked) {
                return next->kind == K_MATCH;  /* the library's allocation hook */
            }
        }
        return k == K_MATCH;
    }
    return false;
}

static double next_uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / (double)(1ull << 53);
}

/* True if this allocation is to fail. */
static bool should_fail(void)
{
    if (inside || !cfg.configured || !chosen_thread()) {
        return false;
    }
    if (cfg.stop_ms > 0 && now_ns() - loaded_ns > cfg.stop_ms * 1000000ull) {
        return false;
    }
    inside = true;   /* backtrace() must not come back in here */
    bool match = caller_matches();
    inside = false;
    if (!match) {
        return false;
    }
    uint64_t n = atomic_fetch_add(&chosen_calls, 1) + 1;
    if (n <= cfg.after) {
        return false;
    }
    if (cfg.p > 0 && next_uniform() >= cfg.p) {
        return false;
    }
    if (cfg.count > 0) {
        uint64_t f = atomic_fetch_add(&failures, 1);
        if (f >= cfg.count) {
            atomic_fetch_sub(&failures, 1);
            return false;
        }
        return true;
    }
    atomic_fetch_add(&failures, 1);
    return true;
}

void *malloc(size_t n)
{
    if (real_malloc == NULL) {
        if (atomic_load(&resolving)) {
            return boot_alloc(n);
        }
        resolve();
    }
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (real_calloc == NULL) {
        if (atomic_load(&resolving)) {
            return boot_alloc(n * size); /* static storage: already zero */
        }
        resolve();
    }
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    if (real_realloc == NULL) {
        resolve();
    }
    if (in_boot(p)) {
        void *q = malloc(n);
        if (q != NULL) {
            size_t left = (size_t)(boot_heap + sizeof(boot_heap) - (char *)p);
            memcpy(q, p, n < left ? n : left);
        }
        return q;
    }
    if (n > 0 && should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_realloc(p, n);
}

void free(void *p)
{
    if (p == NULL || in_boot(p)) {
        return;
    }
    if (real_free == NULL) {
        resolve();
    }
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (real_posix_memalign == NULL) {
        resolve();
    }
    if (should_fail()) {
        return ENOMEM;
    }
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (real_aligned_alloc == NULL) {
        resolve();
    }
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    if (real_memalign == NULL) {
        resolve();
    }
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return real_memalign(align, n);
}

/* The settings are read here, once the environment is set up (the first
 * allocations can come before, under a sanitizer runtime); nothing fails
 * until then. backtrace() loads its unwinder (and allocates) on first use:
 * that is done here too, not inside an allocation. */
__attribute__((constructor)) static void set_up(void)
{
    void *frames[2];
    inside = true;
    loaded_ns = now_ns();
    parse_config();
    backtrace(frames, 2);
    inside = false;
}

__attribute__((destructor)) static void report(void)
{
    char line[256];
    inside = true;
    int n = snprintf(line, sizeof(line),
                     "malloc_fail: %llu of %llu allocations on chosen threads failed "
                     "(p=%g after=%llu count=%llu stop_ms=%llu threads=%s from=%s)\n",
                     (unsigned long long)atomic_load(&failures),
                     (unsigned long long)atomic_load(&chosen_calls), cfg.p,
                     (unsigned long long)cfg.after, (unsigned long long)cfg.count,
                     (unsigned long long)cfg.stop_ms, cfg.threads,
                     cfg.from[0] != '\0' ? cfg.from : "any");
    if (n > 0 && write(2, line, (size_t)n) < 0) {
        /* nothing to do: stderr is gone */
    }
}
