package main

// Tracing set-up, as a Go service in front of PostgreSQL does it: the
// OpenTelemetry SDK with a batching OTLP/HTTP exporter, a ParentBased sampler
// (the caller's sampled flag decides; a root trace is sampled at
// TELEMETRY_SAMPLE_RATE) and the W3C trace-context propagator, so a trace
// that tracegate starts continues through this service into its database
// spans.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// envBool reads a true/false (1/0) variable; unset or empty is def.
func envBool(name string, def bool) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, v)
	}
	return b, nil
}

// tracesURL is where spans go. TELEMETRY_COLLECTOR_URL wins (a URL without
// a path gets /v1/traces); then the exporter's own OTEL_EXPORTER_OTLP_*
// variables (returned as ""); then TELEMETRY_BACKEND: jaeger receives
// OTLP/HTTP on 4318, tempo sits behind a collector on 4319.
func tracesURL() (string, error) {
	if v := os.Getenv("TELEMETRY_COLLECTOR_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("TELEMETRY_COLLECTOR_URL: %q is not an http(s) URL", v)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		return u.String(), nil
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
		os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		return "", nil
	}
	switch b := os.Getenv("TELEMETRY_BACKEND"); b {
	case "", "jaeger":
		return "http://localhost:4318/v1/traces", nil
	case "tempo":
		return "http://localhost:4319/v1/traces", nil
	default:
		return "", fmt.Errorf("TELEMETRY_BACKEND: %q is neither jaeger nor tempo", b)
	}
}

// initTracer installs the global tracer provider and propagator. With
// TELEMETRY_ENABLED=false no SDK is installed: otelecho and otelgorm then
// use the API's no-op tracer and record nothing. The returned function
// flushes and stops the exporter.
func initTracer(ctx context.Context) (func(context.Context) error, string, error) {
	// The propagator is installed either way: the API's default is a no-op,
	// and otelecho would not read traceparent at all.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))

	enabled, err := envBool("TELEMETRY_ENABLED", true)
	if err != nil {
		return nil, "", err
	}
	if !enabled {
		return func(context.Context) error { return nil }, "tracing disabled (TELEMETRY_ENABLED=false)", nil
	}

	rate := 1.0
	if v := os.Getenv("TELEMETRY_SAMPLE_RATE"); v != "" {
		rate, err = strconv.ParseFloat(v, 64)
		if err != nil || rate < 0 || rate > 1 {
			return nil, "", fmt.Errorf("TELEMETRY_SAMPLE_RATE: %q is not a number in [0, 1]", v)
		}
	}

	target, err := tracesURL()
	if err != nil {
		return nil, "", err
	}
	var opts []otlptracehttp.Option
	if target != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(target))
		if strings.HasPrefix(target, "http://") {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("OTLP exporter: %w", err)
	}

	// service.name defaults to go-core; OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES (WithFromEnv, applied later) override it.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "go-core")),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithProcessPID(),
	)
	if err != nil {
		return nil, "", fmt.Errorf("resource: %w", err)
	}

	tp := sdktrace.NewTracerProvider(
		// The batcher reads OTEL_BSP_SCHEDULE_DELAY and the other OTEL_BSP_*.
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate))),
	)
	otel.SetTracerProvider(tp)
	where := target
	if where == "" {
		where = "OTEL_EXPORTER_OTLP_* settings"
	}
	return tp.Shutdown, fmt.Sprintf("tracing to %s, ParentBased(TraceIDRatioBased(%g))", where, rate), nil
}
