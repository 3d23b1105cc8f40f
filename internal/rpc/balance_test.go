package rpc_test

import (
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/rpc"
)

// backend is a gRPC server whose health service knows its own name only,
// so a Check of that name tells which backend answered.
func backend(t *testing.T, name string) (string, *health.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := health.NewServer()
	h.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, h)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String(), h
}

// answeredBy makes n calls and counts which backend answered each.
func answeredBy(t *testing.T, conn *grpc.ClientConn, n int) map[string]int {
	t.Helper()
	c := healthpb.NewHealthClient(conn)
	got := map[string]int{}
	for range n {
		if _, err := c.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "a"}); err == nil {
			got["a"]++
		} else if status.Code(err) == codes.NotFound {
			got["b"]++
		} else {
			t.Fatal(err)
		}
	}
	return got
}

func dialBoth(t *testing.T, addrs ...string) *grpc.ClientConn {
	t.Helper()
	r := manual.NewBuilderWithScheme("pods")
	var state resolver.State
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(state)
	conn, err := grpc.NewClient("pods:///motor", grpc.WithResolvers(r), grpc.WithTransportCredentials(insecure.NewCredentials()), rpc.RoundRobin())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestRoundRobin: calls on one connection reach every backend the name
// resolves to, and none that reports NOT_SERVING.
func TestRoundRobin(t *testing.T) {
	a, _ := backend(t, "a")
	b, hb := backend(t, "b")
	conn := dialBoth(t, a, b)
	// Calls go to the backends ready so far; the second one may take a
	// moment to connect. Pinned to one (pick_first), b would never answer.
	var got map[string]int
	for i := 0; ; i++ {
		if got = answeredBy(t, conn, 20); got["a"] > 0 && got["b"] > 0 {
			break
		}
		if i == 200 {
			t.Fatalf("calls answered by %v, want both backends", got)
		}
		time.Sleep(10 * time.Millisecond)
	}

	hb.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING) // b drains
	for range 100 {
		if got = answeredBy(t, conn, 10); got["b"] == 0 {
			return
		}
	}
	t.Fatalf("calls still reach the backend that is not serving: %v", got)
}
