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

// The in-process connection reaches the same server through the same
// interceptors: a call without a token is refused, one with a token is
// answered, and draining ends it like the TCP listener's.
func TestInProcess(t *testing.T) {
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
	defer func() { cancel(); <-done }()
	// The connection is asked for once the server serves, as the gateway's
	// is (it is set up after the services).
	target, opt := srv.InProcess("127.0.0.1:1")
	conn, err := rpc.Dial(target, nil, opt, rpc.Own())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	client := testpb.NewTestServiceClient(conn)
	if _, err := client.UnaryCall(t.Context(), &testpb.SimpleRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("in-process call without token: %v, want Unauthenticated", err)
	}

	tok, err := signer.Sign(auth.Claims{Subject: "s", Region: "uppsala", Roles: []auth.Role{auth.Advisor}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok), &testpb.SimpleRequest{})
		answered <- err
	}()
	<-svc.started
	cancel() // drain starts with the call in flight; it must still finish
	close(svc.release)
	if err := <-answered; err != nil {
		t.Errorf("in-process call in flight at drain: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	done <- nil
	if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err == nil {
		t.Errorf("in-process call after the server stopped succeeded")
	}
}
