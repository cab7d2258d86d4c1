package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/attribute"

	"github.com/acme/acme/internal/platform/logging"
)

// identity returns the tenant and user of ctx's unit of work (put there by
// the auth middleware or the job runner) as span attributes.
func identity(ctx context.Context) []attribute.KeyValue {
	var kv []attribute.KeyValue
	for _, a := range logging.Attrs(ctx) {
		switch a.Key {
		case "tenant_id":
			kv = append(kv, attribute.String("tenant.id", a.Value.String()))
		case "user_id":
			kv = append(kv, attribute.String("enduser.id", a.Value.String()))
		}
	}
	return kv
}

// tags are the log attributes copied to a Sentry event as tags, so that
// events can be searched by them.
var tags = []string{"request_id", "tenant_id", "route", "job_id", "job_kind", "trace_id", "module", "component"}

// reporter is a slog handler that sends error records to Sentry. It sits
// beside the JSON handler, behind logging.Handler, so it sees the
// context's attributes (request_id, tenant_id, user_id…) on each record.
type reporter struct {
	hub    *sentry.Hub
	attrs  []slog.Attr
	prefix string // of the keys of attributes added in a group
}

// Enabled implements slog.Handler: only errors are reported.
func (h *reporter) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelError
}

// Handle implements slog.Handler. Records without an "error" or "panic"
// attribute (the request line of a 5xx, whose cause was logged already)
// are not reported.
func (h *reporter) Handle(ctx context.Context, r slog.Record) error {
	attrs := slices.Clone(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
		return true
	})
	event := sentry.NewEvent()
	event.Level = sentry.LevelError
	event.Message = r.Message
	event.Timestamp = r.Time
	event.Tags = map[string]string{}
	extra := map[string]any{}
	for _, a := range attrs {
		v := a.Value.Resolve()
		switch {
		case a.Key == "error":
			err, ok := v.Any().(error)
			typ := "error"
			if ok {
				typ = fmt.Sprintf("%T", err)
			}
			event.Exception = append(event.Exception, sentry.Exception{Type: typ, Value: v.String()})
		case a.Key == "panic":
			ex := sentry.Exception{Type: "panic", Value: v.String(), Mechanism: &sentry.Mechanism{Type: "recover"}}
			ex.Mechanism.SetUnhandled()
			event.Exception = append(event.Exception, ex)
		case a.Key == "user_id":
			event.User.ID = v.String()
		case slices.Contains(tags, a.Key):
			event.Tags[a.Key] = v.String()
		default:
			extra[a.Key] = v.String()
		}
	}
	if len(event.Exception) == 0 {
		return nil
	}
	event.Contexts = map[string]sentry.Context{"log": extra}
	if req, ok := ctx.Value(requestKey{}).(*sentry.Request); ok {
		event.Request = req
	}
	h.hub.CaptureEvent(event)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *reporter) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clip(c.attrs)
	for _, a := range attrs {
		c.attrs = append(c.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return &c
}

// WithGroup implements slog.Handler: the group's attributes are reported
// with keys "group.key".
func (h *reporter) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
