/*
 * tracegate configuration: one immutable, typed snapshot built from the
 * command line and an optional JSON file (flags override the file).
 *
 * Built once on the main thread before workers start; afterwards it is only
 * read, from any thread. Nothing here logs: problems are collected in a
 * struct tg_diag as "file:line:column: message" lines for the caller.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_DIAG_MAX 32
#define TG_DIAG_LINE 384

/* Collected configuration errors, in the order found. */
struct tg_diag {
    char line[TG_DIAG_MAX][TG_DIAG_LINE];
    int count;
    int dropped;  /* errors beyond TG_DIAG_MAX */
};

void tg_diag_add(struct tg_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Inbound trace context policy of a route. */
enum tg_trust {
    TG_TRUST_CONTINUE,  /* keep trace id, parent and sampled flag */
    TG_TRUST_IDS_ONLY,  /* keep trace id and parent; sample by our own rules */
    TG_TRUST_RESTART,   /* new trace; the inbound context becomes a span link */
};

enum tg_exporter_kind {
    TG_EXPORTER_OTLP,
    TG_EXPORTER_CONSOLE,
    TG_EXPORTER_NONE,
};

/* A list of strings owned by the config. */
struct tg_strlist {
    char **items;
    size_t count;
};

/* Where an OTLP endpoint setting came from, lowest precedence first. */
enum tg_cfg_level { TG_LEVEL_FILE, TG_LEVEL_ENV, TG_LEVEL_FLAG, TG_LEVELS };
/* The endpoint settings at one level, lowest precedence first. */
enum tg_endpoint_kind {
    TG_EP_BACKEND,          /* TELEMETRY_BACKEND: jaeger | tempo */
    TG_EP_COLLECTOR_URL,    /* TELEMETRY_COLLECTOR_URL, --otlp-endpoint */
    TG_EP_ENDPOINT,         /* OTEL_EXPORTER_OTLP_ENDPOINT (a base URL) */
    TG_EP_TRACES_ENDPOINT,  /* OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) */
    TG_EP_KINDS,
};

/* OTLP export settings (config/export.c). */
struct tg_export_conf {
    char *ep_raw[TG_LEVELS][TG_EP_KINDS];  /* as given; resolved into endpoint */
    char *endpoint;               /* the URL the exporter uses */
    const char *endpoint_from;    /* static: the setting that chose it */
    int protocol;                 /* enum tg_otlp_protocol (lib/otlp/export_otlp.h) */
    int protocol_level;           /* -1: default */
    struct tg_strlist headers;    /* "Name: value" */
    bool gzip;
    int64_t timeout_ms;
    char *certificate;
    char *client_key;
    char *client_certificate;
    bool insecure;
    struct tg_strlist resource;   /* key, value, key, value...; a later key wins */
};

/*
 * Tracing settings. Sources, later ones winning: defaults, the file's
 * "tracing" object, the environment (TELEMETRY_*, OTEL_*), flags.
 */
struct tg_tracing_conf {
    bool enabled;                 /* TELEMETRY_ENABLED; OTEL_SDK_DISABLED */
    int sampler;                  /* enum tg_sampler_kind (lib/sampler.h) */
    double sampler_arg;           /* ratio for the ratio samplers */
    enum tg_trust trust;          /* default for routes */
    bool traceresponse;           /* default for routes */
    struct tg_strlist health_paths;      /* never traced (exact paths) */
    struct tg_strlist request_headers;   /* captured, lowercase */
    struct tg_strlist response_headers;  /* captured, lowercase */
    struct tg_strlist redact_query;      /* query keys whose values are hidden */
    int64_t tracestate_limit;     /* characters propagated, >= 512 */
    enum tg_exporter_kind exporter;
    char *service_name;
    bool service_name_set;        /* by the file or OTEL_SERVICE_NAME */
    int64_t bsp_schedule_delay_ms;
    int64_t bsp_export_timeout_ms;
    int64_t bsp_max_queue_size;
    int64_t bsp_max_export_batch_size;
    int64_t shutdown_timeout_ms;   /* flush at shutdown stops after this */
    struct tg_export_conf export;
};

/* Who may read the read-only admin endpoints (metrics, tracez, GET
 * telemetry) without the token. Writes always need it. */
enum tg_admin_reads {
    TG_READS_LOOPBACK,  /* open when the listener is bound to loopback */
    TG_READS_TOKEN,     /* always the token */
    TG_READS_OPEN,      /* never the token */
};

#define TG_ADMIN_TOKEN_MIN 16
#define TG_ADMIN_TOKEN_MAX 512

/*
 * The operator surface (admin/). Without a listen address the endpoints
 * are mounted under /admin on the main listener; with one, they move to
 * their own listener and the main listener forwards /admin like any path.
 */
struct tg_admin_conf {
    char *listen_host;        /* NULL: mounted on the main listener */
    uint16_t listen_port;
    char *token;              /* NULL: the write endpoints refuse */
    const char *token_from;   /* static: the setting the token came from */
    char *token_file;         /* as configured */
    enum tg_admin_reads reads;
    char *audit_log;          /* "-" (stderr) or a file path */
};

enum tg_host_mode {
    TG_HOST_CLIENT,    /* forward the client's Host (default) */
    TG_HOST_UPSTREAM,  /* use the upstream URL's authority */
    TG_HOST_LITERAL,   /* use route->host */
};

struct tg_route_conf {
    char *prefix;             /* starts with '/' */
    size_t prefix_len;
    char *upstream;           /* the URL as configured */
    char *upstream_base;      /* scheme://authority[/path], no trailing '/' */
    char *upstream_authority; /* host[:port] as written in the URL */
    enum tg_host_mode host_mode;
    char *host;               /* TG_HOST_LITERAL only */
    bool strip_prefix;        /* remove prefix before appending the path */
    uint64_t max_body_bytes;  /* 0 = unlimited */
    int64_t connect_timeout_ms;
    int64_t header_timeout_ms;
    int64_t idle_timeout_ms;
    /* tracing, per route */
    char *http_route;         /* route template for span names; default: the prefix plus a "*" segment */
    char *trust_name;         /* as written; NULL = inherit */
    enum tg_trust trust;
    int traceresponse;        /* -1 = inherit, else 0/1 */
    double sample_rate;       /* < 0 = use the global rate */
    /* Set by the gateway before the config is published. */
    size_t slot;              /* run-time sampling slot (stable over reloads) */
    bool internal;            /* tracegate's own endpoints: never traced */
    char *unix_socket;        /* connect here instead of the URL's host */
};

struct tg_config {
    char *listen_host;        /* numeric address, no brackets */
    uint16_t listen_port;     /* 0 = pick a free port */
    int workers;
    char *access_log;         /* "-" (stdout), "off" or a file path */
    uint64_t max_connections; /* over all workers */
    uint64_t max_header_bytes;
    uint64_t max_response_header_bytes;
    uint64_t max_body_bytes;  /* default for routes; 0 = unlimited */
    int64_t client_timeout_ms;
    /* bytes/s a request body must average, over the time tracegate waited
     * for the client, once TG_BODY_RATE_GRACE_NS of it passed; 0 = no floor */
    uint64_t client_body_min_rate;
    int64_t connect_timeout_ms;
    int64_t header_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t shutdown_timeout_ms;
    int64_t upstream_keepalive; /* idle upstream connections kept per worker */

    struct tg_tracing_conf tracing;
    struct tg_admin_conf admin;

    /* Sorted by prefix length, longest first, so the first match wins. */
    struct tg_route_conf *routes;
    size_t route_count;
};

/* What the command line asked for. Strings are borrowed from argv. */
struct tg_cli {
    const char *config_path;
    const char *listen;
    const char *upstream;
    const char *access_log;
    const char **route_args;  /* "PREFIX=URL", route_count entries */
    size_t route_count;
    int workers;              /* 0 = not given */
    const char *otlp_endpoint;
    const char *otlp_protocol;
    const char *admin_listen;
    bool check_config;
    bool help;
    bool version;
};

/* Parse argv. Returns 0, or -EINVAL with the problem in diag. On success
 * the caller frees cli->route_args with tg_cli_fini(). */
int tg_cli_parse(int argc, char **argv, struct tg_cli *cli, struct tg_diag *diag);
void tg_cli_fini(struct tg_cli *cli);

/* The --help text. */
const char *tg_cli_usage(void);

/*
 * Build the configuration: defaults, then the file named by cli (if any),
 * then the flags. Returns 0 and a new config in *out, or -EINVAL with every
 * problem found in diag (file errors as "file:line:column: message").
 */
int tg_config_build(const struct tg_cli *cli, struct tg_config **out,
                    struct tg_diag *diag);

/* Add the route that forwards `prefix` to tracegate's own admin server
 * on a unix socket (before the config is published). Returns 0, -EEXIST
 * when a configured route has that exact prefix, or -ENOMEM. */
int tg_config_mount_internal(struct tg_config *cfg, const char *prefix,
                             const char *unix_socket, uint64_t max_body_bytes);

/* Free a config from tg_config_build. Accepts NULL. */
void tg_config_destroy(struct tg_config *cfg);

#endif
