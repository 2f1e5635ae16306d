/* Command-line parsing into struct tg_cli (see config.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tg_diag_add(struct tg_diag *d, const char *fmt, ...)
{
    va_list ap;

    if (d->count >= TG_DIAG_MAX) {
        d->dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(d->line[d->count], TG_DIAG_LINE, fmt, ap);
    va_end(ap);
    d->count++;
}

const char *tg_cli_usage(void)
{
    return
        "Usage: tracegate [OPTIONS]\n"
        "\n"
        "HTTP/1.1 reverse proxy that adds distributed tracing in front of services.\n"
        "\n"
        "Options:\n"
        "  --listen HOST:PORT     address to accept clients on (default 127.0.0.1:8080;\n"
        "                         IPv6 as [::1]:8080; port 0 picks a free port)\n"
        "  --upstream URL         upstream for the default route \"/\"\n"
        "  --route PREFIX=URL     route requests whose path starts with PREFIX (whole\n"
        "                         segments) to URL; repeatable, longest prefix wins\n"
        "  --config FILE          JSON configuration file (flags override it)\n"
        "  --check-config         validate the configuration, print errors as\n"
        "                         file:line:column: message, exit 0 or 1\n"
        "  --workers N            worker threads (default: number of CPUs)\n"
        "  --access-log PATH      JSON-lines access log: - (stdout, default), off, or a file\n"
        "  --otlp-endpoint URL    where spans go (OTLP); a URL without a path gets\n"
        "                         /v1/traces (default http://localhost:4318/v1/traces)\n"
        "  --otlp-protocol P      http/protobuf (default), http/json or grpc\n"
        "  --admin-listen HOST:PORT  serve the admin endpoints (/admin/telemetry,\n"
        "                         /metrics, /healthz, /readyz, /debug/tracez) on their\n"
        "                         own listener instead of under /admin on --listen\n"
        "  --help                 show this help and exit\n"
        "  --version              show the version and exit\n";
}

static int parse_workers(const char *s, struct tg_diag *diag)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 256) {
        tg_diag_add(diag, "tracegate: --workers: expected an integer between 1 and 256, got \"%s\"", s);
        return 0;
    }
    return (int)v;
}

int tg_cli_parse(int argc, char **argv, struct tg_cli *cli, struct tg_diag *diag)
{
    enum {
        OPT_LISTEN = 256, OPT_UPSTREAM, OPT_ROUTE, OPT_CONFIG, OPT_CHECK,
        OPT_WORKERS, OPT_ACCESS_LOG, OPT_HELP, OPT_VERSION, OPT_OTLP_ENDPOINT,
        OPT_OTLP_PROTOCOL, OPT_ADMIN_LISTEN,
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"upstream", required_argument, NULL, OPT_UPSTREAM},
        {"route", required_argument, NULL, OPT_ROUTE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
        {"otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT},
        {"otlp-protocol", required_argument, NULL, OPT_OTLP_PROTOCOL},
        {"admin-listen", required_argument, NULL, OPT_ADMIN_LISTEN},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(cli, 0, sizeof(*cli));
    cli->route_args = calloc((size_t)argc + 1, sizeof(*cli->route_args));
    if (cli->route_args == NULL) {
        return -ENOMEM;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            cli->listen = optarg;
            break;
        case OPT_UPSTREAM:
            cli->upstream = optarg;
            break;
        case OPT_ROUTE:
            cli->route_args[cli->route_count++] = optarg;
            break;
        case OPT_CONFIG:
            cli->config_path = optarg;
            break;
        case OPT_CHECK:
            cli->check_config = true;
            break;
        case OPT_WORKERS:
            cli->workers = parse_workers(optarg, diag);
            break;
        case OPT_ACCESS_LOG:
            cli->access_log = optarg;
            break;
        case OPT_OTLP_ENDPOINT:
            cli->otlp_endpoint = optarg;
            break;
        case OPT_OTLP_PROTOCOL:
            cli->otlp_protocol = optarg;
            break;
        case OPT_ADMIN_LISTEN:
            cli->admin_listen = optarg;
            break;
        case 'h':
        case OPT_HELP:
            cli->help = true;
            break;
        case OPT_VERSION:
            cli->version = true;
            break;
        case ':':
            tg_diag_add(diag, "tracegate: %s: needs a value", argv[optind - 1]);
            break;
        default:
            tg_diag_add(diag, "tracegate: unknown option \"%s\" (see --help)", argv[optind - 1]);
            break;
        }
    }
    if (optind < argc) {
        tg_diag_add(diag, "tracegate: unexpected argument \"%s\" (see --help)", argv[optind]);
    }
    return diag->count > 0 ? -EINVAL : 0;
}

void tg_cli_fini(struct tg_cli *cli)
{
    free(cli->route_args);
    cli->route_args = NULL;
}
