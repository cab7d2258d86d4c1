// Package telemetrytest receives what package telemetry sends, in the test
// process: an OTLP/HTTP trace receiver decoding the exporter's protobuf
// requests, and a Sentry endpoint decoding its envelopes. No network
// beyond the loopback is used.
package telemetrytest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a received span, flattened.
type Span struct {
	Service      string
	Name         string
	TraceID      string
	SpanID       string
	ParentSpanID string
	Attributes   map[string]string
}

// Receiver is an OTLP/HTTP trace endpoint.
type Receiver struct {
	// URL is the endpoint to set as OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	mu    sync.Mutex
	spans []Span
}

// NewReceiver starts a receiver that lives as long as t.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	rc := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
			return
		}
		body, err := readBody(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.add(&req)
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Setenv points the OpenTelemetry SDK of t's process at r, exporting
// batches every 50ms. t must not be parallel.
func (rc *Receiver) Setenv(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
}

func (rc *Receiver) add(req *collectortrace.ExportTraceServiceRequest) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range s.GetAttributes() {
					attrs[kv.GetKey()] = value(kv.GetValue())
				}
				rc.spans = append(rc.spans, Span{
					Service:      service,
					Name:         s.GetName(),
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Attributes:   attrs,
				})
			}
		}
	}
}

// value returns v as text: strings as they are, numbers and booleans as Go
// formats them.
func value(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	default:
		return v.String()
	}
}

// Spans returns the spans received so far.
func (rc *Receiver) Spans() []Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Span(nil), rc.spans...)
}

// WaitSpan waits up to 10s for a span named name and returns it.
func (rc *Receiver) WaitSpan(t testing.TB, name string) Span {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range rc.Spans() {
			if s.Name == name {
				return s
			}
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range rc.Spans() {
				names = append(names, s.Name)
			}
			t.Fatalf("telemetrytest: no span %q received; got %q", name, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Sentry is a Sentry endpoint that keeps the events it receives.
type Sentry struct {
	// DSN points a Sentry client at this endpoint (project 1).
	DSN string

	mu     sync.Mutex
	events []map[string]any
}

// NewSentry starts a Sentry endpoint that lives as long as t.
func NewSentry(t testing.TB) *Sentry {
	t.Helper()
	s := &Sentry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil || r.URL.Path != "/api/1/envelope/" {
			http.Error(w, "want a Sentry envelope at /api/1/envelope/", http.StatusBadRequest)
			return
		}
		s.addEnvelope(body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	s.DSN = "http://public@" + strings.TrimPrefix(srv.URL, "http://") + "/1"
	return s
}

// addEnvelope keeps the event items of an envelope: a header line, then
// per item a header line and a payload line.
func (s *Sentry) addEnvelope(body []byte) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	sc.Scan() // envelope header
	for sc.Scan() {
		var item struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(sc.Bytes(), &item) != nil || !sc.Scan() {
			return
		}
		if item.Type != "event" {
			continue
		}
		var event map[string]any
		if json.Unmarshal(sc.Bytes(), &event) == nil {
			s.mu.Lock()
			s.events = append(s.events, event)
			s.mu.Unlock()
		}
	}
}

// Events returns the events received so far.
func (s *Sentry) Events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

func readBody(r *http.Request) ([]byte, error) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer func() { _ = zr.Close() }()
		body = zr
	}
	return io.ReadAll(body)
}
