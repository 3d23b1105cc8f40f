package main

import (
	"slices"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/innovationsmotorer/motor/internal/rpc"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// TestHealth_EveryRegisteredService: grpc.health.v1 answers SERVING for
// every service the server offers, as its reflection lists them (what
// grpc.Server.GetServiceInfo holds), the programme ledger included.
func TestHealth_EveryRegisteredService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	p := startMotor(t, bin, "-data", t.TempDir(), "-demo=false")
	conn, err := rpc.Dial(p.grpc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx := t.Context()

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var services []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	if !slices.Contains(services, fundingv1.ProgrammeService_ServiceDesc.ServiceName) {
		t.Fatalf("reflection lists %v, without the programme ledger", services)
	}
	hc := healthpb.NewHealthClient(conn)
	for _, name := range services {
		if name == healthpb.Health_ServiceDesc.ServiceName || isReflection(name) {
			continue
		}
		got, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %s: %v %v, want SERVING", name, got.GetStatus(), err)
		}
	}
	p.stop(t)
}
