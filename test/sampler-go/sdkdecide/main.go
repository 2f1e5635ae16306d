// Reference sampling decisions from the OpenTelemetry Go SDK, for comparing
// tracegate's sampler against it (compare.sh).
//
// Reads lines "<32-hex trace id> <rate>" on stdin and prints, per line,
//
//	<trace id> <rate> <ratio> <pb_root> <pb_remote_sampled> <pb_remote_unsampled>
//
// where each decision is 1 (RecordAndSample) or 0 (Drop): ratio is
// TraceIDRatioBased(rate) for a span with no parent; the other three are
// ParentBased(TraceIDRatioBased(rate)) for no parent, a remote sampled
// parent and a remote unsampled parent. The trace id and rate are echoed as
// read so that the two programs' outputs can be compared line by line.
// Any malformed line, or a decision other than those two, is an error
// (exit status 1): a reference that guesses would hide a difference.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func decision(s sdktrace.Sampler, ctx context.Context, id trace.TraceID) (int, error) {
	r := s.ShouldSample(sdktrace.SamplingParameters{
		ParentContext: ctx,
		TraceID:       id,
		Name:          "GET",
		Kind:          trace.SpanKindServer,
	})
	switch r.Decision {
	case sdktrace.RecordAndSample:
		return 1, nil
	case sdktrace.Drop:
		return 0, nil
	}
	return 0, fmt.Errorf("unexpected decision %d", r.Decision)
}

// remoteParent is a context whose span context is a remote parent in the
// same trace, sampled or not. The parent span id is fixed and non-zero so
// that the span context is valid: an invalid one would make ParentBased
// fall back to its root sampler and the column would test the wrong rule.
func remoteParent(id trace.TraceID, sampled bool) (context.Context, error) {
	var flags trace.TraceFlags
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    id,
		SpanID:     trace.SpanID{0, 0, 0, 0, 0, 0, 0, 1},
		TraceFlags: flags,
		Remote:     true,
	})
	if !sc.IsValid() || !sc.IsRemote() || sc.IsSampled() != sampled {
		return nil, fmt.Errorf("trace id %s does not make a valid remote parent", id)
	}
	return trace.ContextWithRemoteSpanContext(context.Background(), sc), nil
}

func line(text string) (string, error) {
	fields := strings.Fields(text)
	if len(fields) != 2 || len(fields[0]) != 32 {
		return "", fmt.Errorf("want \"<32-hex trace id> <rate>\", got %q", text)
	}
	raw, err := hex.DecodeString(fields[0])
	if err != nil {
		return "", fmt.Errorf("trace id %q: %v", fields[0], err)
	}
	var id trace.TraceID
	copy(id[:], raw)
	rate, err := strconv.ParseFloat(fields[1], 64)
	if err != nil {
		return "", fmt.Errorf("rate %q: %v", fields[1], err)
	}

	root := context.Background()
	sampledParent, err := remoteParent(id, true)
	if err != nil {
		return "", err
	}
	unsampledParent, err := remoteParent(id, false)
	if err != nil {
		return "", err
	}
	ratio := sdktrace.TraceIDRatioBased(rate)
	parentBased := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate))

	cols := []struct {
		s   sdktrace.Sampler
		ctx context.Context
	}{
		{ratio, root},
		{parentBased, root},
		{parentBased, sampledParent},
		{parentBased, unsampledParent},
	}
	var b strings.Builder
	b.WriteString(fields[0])
	b.WriteByte(' ')
	b.WriteString(fields[1])
	for _, c := range cols {
		d, err := decision(c.s, c.ctx, id)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, " %d", d)
	}
	return b.String(), nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	n := 0
	for in.Scan() {
		n++
		s, err := line(in.Text())
		if err != nil {
			fmt.Fprintf(os.Stderr, "sampler-go: line %d: %v\n", n, err)
			os.Exit(1)
		}
		out.WriteString(s)
		out.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "sampler-go: reading stdin: %v\n", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "sampler-go: writing stdout: %v\n", err)
		os.Exit(1)
	}
}
