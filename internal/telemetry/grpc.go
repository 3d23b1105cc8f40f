package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/config"
)

// ServerHandler is the OpenTelemetry stats handler of a gRPC server: spans
// and metrics as otelgrpc makes them, and motor.region on the span of every
// call whose request names a region.
func (t *Telemetry) ServerHandler() stats.Handler {
	return regionHandler{otelgrpc.NewServerHandler(t.otelgrpcOptions()...), false}
}

// ClientHandler is ServerHandler's counterpart for client connections: the
// client span of a call about a region carries motor.region too.
func (t *Telemetry) ClientHandler() stats.Handler {
	return regionHandler{otelgrpc.NewClientHandler(t.otelgrpcOptions()...), true}
}

func (t *Telemetry) otelgrpcOptions() []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(t.TracerProvider),
		otelgrpc.WithMeterProvider(t.MeterProvider),
		otelgrpc.WithPropagators(t.Propagator),
	}
}

// regionHandler reads the region off the first message a call carries in
// (server) or out (client): the span is open by then, and the handler has
// not yet started the calls it makes in turn.
type regionHandler struct {
	stats.Handler
	client bool
}

func (h regionHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	var payload any
	switch p := s.(type) {
	case *stats.InPayload:
		if !h.client {
			payload = p.Payload
		}
	case *stats.OutPayload:
		if h.client {
			payload = p.Payload
		}
	}
	if m, ok := payload.(proto.Message); ok {
		if region := RegionOf(m); region != "" {
			trace.SpanFromContext(ctx).SetAttributes(AttrRegion.String(region))
		}
	}
	h.Handler.HandleRPC(ctx, s)
}

// regionFields are the request fields that name what a call is about, in the
// order they are looked at: a resource's name, a collection's parent, the
// subproject a ledger call is keyed by, or a bare region id.
var regionFields = []protoreflect.Name{"name", "parent", "subproject", "region"}

// RegionOf returns the region a request is about ("" when it names none):
// the {region} of a regions/{region}/… name in its name, parent or
// subproject field, its region field, or the name of the resource it
// carries (an update's).
func RegionOf(m proto.Message) string {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for _, name := range regionFields {
		f := fields.ByName(name)
		if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() || f.IsMap() {
			continue
		}
		v := r.Get(f).String()
		if name == "region" && config.KnownRegion(v) {
			return v
		}
		if region := RegionOfName(v); region != "" {
			return region
		}
	}
	// An update carries its resource, whose name says the region.
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !r.Has(f) {
			continue
		}
		sub := r.Get(f).Message()
		if nf := sub.Descriptor().Fields().ByName("name"); nf != nil && nf.Kind() == protoreflect.StringKind && !nf.IsList() {
			if region := RegionOfName(sub.Get(nf).String()); region != "" {
				return region
			}
		}
	}
	return ""
}

// RegionOfName returns the {region} of a regions/{region}[/…] resource name,
// or "" for any other string. Only real region ids count: an attribute with
// whatever a caller typed would make a series per typo.
func RegionOfName(name string) string {
	rest, ok := strings.CutPrefix(name, "regions/")
	if !ok {
		return ""
	}
	region, _, _ := strings.Cut(rest, "/")
	if !config.KnownRegion(region) {
		return ""
	}
	return region
}
