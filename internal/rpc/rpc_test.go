package rpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
)

// testService panics on EmptyCall and holds UnaryCall until released.
type testService struct {
	testpb.UnimplementedTestServiceServer
	started chan struct{}
	release chan struct{}
}

func (s *testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	panic("handler bug")
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.started <- struct{}{}
	<-s.release
	return &testpb.SimpleResponse{Username: "done"}, nil
}

type served struct {
	client testpb.TestServiceClient
	health healthpb.HealthClient
	svc    *testService
	stop   context.CancelFunc
	done   chan error
	token  string
}

func start(t *testing.T) *served {
	t.Helper()
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), Rules: testRules(auth.NoPeer)})
	svc := &testService{started: make(chan struct{}, 1), release: make(chan struct{})}
	testpb.RegisterTestServiceServer(srv.GRPC, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, 10*time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := rpc.Dial(lis.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	tok, err := signer.Sign(auth.Claims{Subject: "s", Region: "uppsala", Roles: []auth.Role{auth.Advisor}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &served{client: testpb.NewTestServiceClient(conn), health: healthpb.NewHealthClient(conn), svc: svc, stop: cancel, done: done, token: tok}
}

func (s *served) ctx(t *testing.T) context.Context {
	return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+s.token)
}

func TestPanicBecomesInternal(t *testing.T) {
	s := start(t)
	_, err := s.client.EmptyCall(s.ctx(t), &testpb.Empty{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking handler: %v, want Internal", err)
	}
	if _, err := s.health.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("server unusable after a panic: %v", err)
	}
}

func TestAuthAndPublicMethods(t *testing.T) {
	s := start(t)
	if _, err := s.health.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health without token: %v, want OK", err)
	}
	if _, err := s.client.EmptyCall(t.Context(), &testpb.Empty{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without token: %v, want Unauthenticated", err)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	s := start(t)
	big := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, rpc.MaxMessageBytes+1)}}
	if _, err := s.client.UnaryCall(s.ctx(t), big); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized message: %v, want ResourceExhausted", err)
	}
}

// TestGracefulDrain: a call in flight when shutdown starts still completes.
func TestGracefulDrain(t *testing.T) {
	s := start(t)
	result := make(chan error, 1)
	go func() {
		resp, err := s.client.UnaryCall(s.ctx(t), &testpb.SimpleRequest{})
		if err == nil && resp.GetUsername() != "done" {
			err = status.Error(codes.Unknown, "wrong answer")
		}
		result <- err
	}()
	<-s.svc.started
	s.stop()
	time.Sleep(50 * time.Millisecond) // shutdown has begun; the call is still held
	close(s.svc.release)
	if err := <-result; err != nil {
		t.Errorf("call in flight during shutdown: %v, want it to finish", err)
	}
	if err := <-s.done; err != nil {
		t.Errorf("Serve after drain: %v", err)
	}
	s.done <- nil // for the cleanup
}

// TestServeHealth: the health-only listener answers probes in plain text and
// serves nothing else.
func TestServeHealth(t *testing.T) {
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier()})
	srv.Health.SetServingStatus("innovation.idea.v1.IdeaService", healthpb.HealthCheckResponse_SERVING)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeHealth(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := rpc.Dial(lis.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "innovation.idea.v1.IdeaService"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check on the probe port: %v %v", resp, err)
	}
	if _, err := testpb.NewTestServiceClient(conn).EmptyCall(t.Context(), &testpb.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("another service on the probe port: %v, want Unimplemented", err)
	}
}

// testRules lets every role, and peers under rel, call the test service,
// which has no row in the production access table.
func testRules(rel auth.Relationship) map[string]auth.Rule {
	all := []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service}
	rules := map[string]auth.Rule{}
	name := testpb.TestService_ServiceDesc.ServiceName
	for _, m := range testpb.TestService_ServiceDesc.Methods {
		rules["/"+name+"/"+m.MethodName] = auth.Rule{Roles: all, Peer: rel}
	}
	for _, m := range testpb.TestService_ServiceDesc.Streams {
		rules["/"+name+"/"+m.StreamName] = auth.Rule{Roles: all, Peer: rel}
	}
	return rules
}
