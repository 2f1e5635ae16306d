"""Where spans go: the OTLP endpoint, protocol and options from defaults, the
config file, the environment and flags, in that order of precedence, and a
clear startup error naming the setting for every invalid value.

Each case starts tracegate and reads the startup line that names the
exporter ("exporter otlp <protocol> to <url> (from <setting>)").
"""

import re

import pytest

LINE_RE = re.compile(r"exporter otlp (\S+) to (\S+) \(from ([^)]+)\)")

# The variables these tests set, cleared so the machine's own cannot leak in.
EXPORT_VARS = [
    "TELEMETRY_BACKEND", "TELEMETRY_COLLECTOR_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
]


def exporter_line(start_tracegate, upstream, env, *args, config=None):
    full = {k: "" for k in EXPORT_VARS}  # empty means unset (specification)
    full["OTEL_TRACES_EXPORTER"] = "otlp"
    full.update(env)
    if config is not None:
        config = dict(config, upstream=upstream.url)
        tg = start_tracegate(*args, config=config, env=full)
    else:
        tg = start_tracegate("--upstream", upstream.url, *args, env=full)
    line = tg.stderr.wait_for(lambda l: "exporter otlp" in l, 5, "the exporter line")
    m = LINE_RE.search(line)
    assert m, line
    return m.groups()


@pytest.mark.parametrize("env,args,want", [
    ({}, [], ("http/protobuf", "http://localhost:4318/v1/traces", "default")),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, [],
     ("grpc", "http://localhost:4317", "default")),
    ({"TELEMETRY_BACKEND": "jaeger"}, [],
     ("http/protobuf", "http://localhost:4318/v1/traces", "TELEMETRY_BACKEND")),
    ({"TELEMETRY_BACKEND": "tempo"}, [],
     ("http/protobuf", "http://localhost:4319/v1/traces", "TELEMETRY_BACKEND")),
    # The collector URL overrides the backend; a bare URL gets the path.
    ({"TELEMETRY_BACKEND": "tempo", "TELEMETRY_COLLECTOR_URL": "http://otel.internal:4318"}, [],
     ("http/protobuf", "http://otel.internal:4318/v1/traces", "TELEMETRY_COLLECTOR_URL")),
    ({"TELEMETRY_COLLECTOR_URL": "https://otel.internal/ingest/traces"}, [],
     ("http/protobuf", "https://otel.internal/ingest/traces", "TELEMETRY_COLLECTOR_URL")),
    # The standard variables are more specific than the product's own.
    ({"TELEMETRY_COLLECTOR_URL": "http://a:1", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318/base"},
     [], ("http/protobuf", "http://b:4318/base/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT")),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318/",
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom"},
     [], ("http/protobuf", "http://c:4318/custom", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
    # gRPC takes the endpoint as is; without a scheme, insecure picks http.
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4317"}, [],
     ("grpc", "http://b:4317", "OTEL_EXPORTER_OTLP_ENDPOINT")),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "b:4317",
      "OTEL_EXPORTER_OTLP_INSECURE": "true"}, [],
     ("grpc", "http://b:4317", "OTEL_EXPORTER_OTLP_ENDPOINT")),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "b:4317"}, [],
     ("grpc", "https://b:4317", "OTEL_EXPORTER_OTLP_ENDPOINT")),
    # _TRACES_ beats the generic form; a flag beats both.
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
     [], ("http/json", "http://localhost:4318/v1/traces", "default")),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, ["--otlp-protocol", "http/json"],
     ("http/json", "http://localhost:4318/v1/traces", "default")),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"},
     ["--otlp-endpoint", "http://flag:4318"],
     ("http/protobuf", "http://flag:4318/v1/traces", "--otlp-endpoint")),
])
def test_endpoint_and_protocol_precedence(start_tracegate, upstream, env, args, want):
    assert exporter_line(start_tracegate, upstream, env, *args) == want


def test_file_settings_lose_to_the_environment(start_tracegate, upstream):
    config = {"tracing": {"otlp": {"endpoint": "http://file:4318", "protocol": "http/json",
                                   "compression": "gzip", "headers": {"x-team": "core"}}}}
    assert exporter_line(start_tracegate, upstream, {}, config=config) == (
        "http/json", "http://file:4318/v1/traces", "tracing.otlp.endpoint")
    assert exporter_line(start_tracegate, upstream,
                         {"TELEMETRY_BACKEND": "tempo", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
                         config=config) == ("grpc", "http://localhost:4317", "TELEMETRY_BACKEND")


@pytest.mark.parametrize("env,named", [
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "HTTP"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
    ({"OTEL_EXPORTER_OTLP_HEADERS": "api-key"}, "OTEL_EXPORTER_OTLP_HEADERS"),
    ({"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "bad name=1"}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
    ({"OTEL_EXPORTER_OTLP_HEADERS": "a=%zz"}, "OTEL_EXPORTER_OTLP_HEADERS"),
    ({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_COMPRESSION"),
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT"),
    ({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "0"}, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"),
    ({"OTEL_EXPORTER_OTLP_INSECURE": "yes"}, "OTEL_EXPORTER_OTLP_INSECURE"),
    ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"}, "OTEL_EXPORTER_OTLP_CERTIFICATE"),
    ({"OTEL_EXPORTER_OTLP_CLIENT_KEY": "/nonexistent/key.pem"}, "OTEL_EXPORTER_OTLP_CLIENT_KEY"),
    ({"TELEMETRY_BACKEND": "zipkin"}, "TELEMETRY_BACKEND"),
    ({"TELEMETRY_COLLECTOR_URL": "otel:4318"}, "TELEMETRY_COLLECTOR_URL"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x/"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ({"OTEL_RESOURCE_ATTRIBUTES": "team"}, "OTEL_RESOURCE_ATTRIBUTES"),
])
def test_invalid_values_are_startup_errors(start_tracegate, upstream, env, named):
    full = {"OTEL_TRACES_EXPORTER": "otlp"}
    full.update(env)
    tg = start_tracegate("--upstream", upstream.url, env=full, ready=False)
    tg.expect_exit = True
    assert tg.wait_exit(10) != 0
    tg.stderr.wait_for(lambda l: named in l, 5, "an error naming " + named)


def test_file_errors_point_at_the_value(start_tracegate, upstream, tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{\n  "upstream": "%s",\n  "tracing": {\n    "otlp": {\n'
                   '      "protocol": "thrift",\n      "retries": 3\n    }\n  }\n}\n'
                   % upstream.url)
    tg = start_tracegate("--config", cfg, "--check-config", ready=False)
    tg.expect_exit = True
    assert tg.wait_exit(10) == 1
    tg.stderr.wait_for(lambda l: "bad.json:5:19" in l and "protocol" in l, 5,
                       "the protocol error at its value")
    tg.stderr.wait_for(lambda l: "bad.json:6:7" in l and "retries" in l, 5,
                       "the unknown key at its name")
