package telemetry_test

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/telemetry"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

func resourceOf(t *testing.T, o telemetry.Options) map[attribute.Key]attribute.Value {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(t.Context()) })
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range tel.Resource.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

func TestResource(t *testing.T) {
	o := telemetry.Options{Service: telemetry.ServiceName("idea"), Version: "v1.2.3", Target: "idea", Deployment: "vasterbotten", Regions: []string{"vasterbotten", "uppsala"}}
	t.Run("own", func(t *testing.T) {
		t.Setenv("OTEL_SERVICE_NAME", "")
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
		res := resourceOf(t, o)
		for k, want := range map[attribute.Key]string{
			"service.name": "motor-idea", "service.version": "v1.2.3", "motor.target": "idea", "motor.deployment": "vasterbotten",
			"telemetry.sdk.language": "go",
		} {
			if got := res[k].Emit(); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if got := res["motor.regions"].AsStringSlice(); len(got) != 2 || got[0] != "vasterbotten" || got[1] != "uppsala" {
			t.Errorf("motor.regions = %v, want [vasterbotten uppsala]", got)
		}
		if v, ok := res["cloud.region"]; ok {
			t.Errorf("cloud.region = %q, want it left to the environment", v.Emit())
		}
	})
	t.Run("environment wins", func(t *testing.T) {
		t.Setenv("OTEL_SERVICE_NAME", "idea-vb")
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "cloud.region=eu-north-1,service.version=override,deployment.environment.name=prod")
		res := resourceOf(t, o)
		for k, want := range map[attribute.Key]string{
			"service.name": "idea-vb", "service.version": "override", "cloud.region": "eu-north-1",
			"deployment.environment.name": "prod", "motor.target": "idea",
		} {
			if got := res[k].Emit(); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
}

func TestServiceName(t *testing.T) {
	for target, want := range map[string]string{
		"idea": "motor-idea", "gateway": "motor-gateway", "national": "motor-national",
		"all": "motor", "idea,needs": "motor", "": "motor",
	} {
		if got := telemetry.ServiceName(target); got != want {
			t.Errorf("ServiceName(%q) = %q, want %q", target, got, want)
		}
	}
}

func TestBuildVersion(t *testing.T) {
	if got := telemetry.BuildVersion("v9.9.9"); got != "v9.9.9" {
		t.Errorf("BuildVersion(linked) = %q, want the linked version", got)
	}
}

func TestRegionOf(t *testing.T) {
	for _, tc := range []struct {
		req  proto.Message
		want string
	}{
		{&ideav1.GetIdeaRequest{Name: "regions/vasterbotten/ideas/i1"}, "vasterbotten"},
		{&ideav1.ListIdeasRequest{Parent: "regions/uppsala"}, "uppsala"},
		{&ideav1.UpdateIdeaRequest{Idea: &ideav1.Idea{Name: "regions/skane/ideas/i2"}}, "skane"},
		{&fundingv1.ReserveFundsRequest{Programme: "programmes/p", Subproject: "regions/kalmar/subprojects/s"}, "kalmar"},
		{&coordinatorv1.Region{Region: "orebro"}, "orebro"},
		{&ideav1.GetIdeaRequest{Name: "regions/narnia/ideas/i1"}, ""}, // not a region: no attribute
		{&fundingv1.GetProgrammeRequest{Name: "programmes/p"}, ""},
	} {
		if got := telemetry.RegionOf(tc.req); got != tc.want {
			t.Errorf("RegionOf(%v) = %q, want %q", tc.req, got, tc.want)
		}
	}
}

func TestSetup_TraceSampleRatio(t *testing.T) {
	sampled := func(t *testing.T, ratio *float64, parent trace.SpanContext) int {
		tel, err := telemetry.Setup(t.Context(), telemetry.Options{Service: "motor-test", TraceSampleRatio: ratio})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tel.Shutdown(t.Context()) })
		ctx := trace.ContextWithRemoteSpanContext(t.Context(), parent)
		n := 0
		for range 200 {
			_, span := tel.TracerProvider.Tracer("test").Start(ctx, "call")
			if span.SpanContext().IsSampled() {
				n++
			}
			span.End()
		}
		return n
	}
	zero, half := 0.0, 0.5
	sampledParent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true})
	unsampledParent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{2}, SpanID: trace.SpanID{2}, Remote: true})
	if n := sampled(t, nil, trace.SpanContext{}); n != 200 {
		t.Errorf("default sampler: %d of 200 root spans sampled, want all", n)
	}
	if n := sampled(t, &zero, trace.SpanContext{}); n != 0 {
		t.Errorf("ratio 0: %d of 200 root spans sampled, want none", n)
	}
	if n := sampled(t, &half, trace.SpanContext{}); n == 0 || n == 200 {
		t.Errorf("ratio 0.5: %d of 200 root spans sampled, want some but not all", n)
	}
	if n := sampled(t, &zero, sampledParent); n != 200 {
		t.Errorf("ratio 0 under a sampled caller: %d of 200 sampled, want all (parent-based)", n)
	}
	if n := sampled(t, &half, unsampledParent); n != 0 {
		t.Errorf("ratio 0.5 under an unsampled caller: %d of 200 sampled, want none (parent-based)", n)
	}
}
