package rpc_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// TestKeepalive_PingingClientKeepsItsStream: a client that pings an idle
// connection every 10 s is within the servers' policy: its health Watch
// stream outlives the three pings after which a default server sends
// GOAWAY too_many_pings.
func TestKeepalive_PingingClientKeepsItsStream(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 45 s for keepalive pings")
	}
	t.Parallel()
	a := startAdmitted(t, nil)
	conn, err := rpc.Dial(a.conn.Target(), nil,
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatalf("first health update: %v", err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := watch.Recv()
		ended <- err
	}()
	select {
	case err := <-ended:
		t.Fatalf("health Watch stream ended under a 10 s pinger: %v", err)
	case <-time.After(45 * time.Second):
	}
}

// hangable forwards TCP to target until hang is set, then holds every
// byte: a peer that was SIGSTOPped.
type hangable struct {
	lis  net.Listener
	hung atomic.Bool
	mu   sync.Mutex
	all  []net.Conn
}

func newHangable(t *testing.T, target string) *hangable {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangable{lis: lis}
	t.Cleanup(func() {
		_ = lis.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.all {
			_ = c.Close()
		}
	})
	go func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			h.mu.Lock()
			h.all = append(h.all, in, out)
			h.mu.Unlock()
			go h.pipe(in, out)
			go h.pipe(out, in)
		}
	}()
	return h
}

func (h *hangable) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for h.hung.Load() {
			time.Sleep(50 * time.Millisecond)
			if _, err := src.Read(make([]byte, 0)); err != nil && err != io.EOF {
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestKeepalive_HungPeerDropped: a call to a peer that stops answering
// fails as UNAVAILABLE once keepalive finds the connection dead, instead of
// waiting out its whole deadline.
func TestKeepalive_HungPeerDropped(t *testing.T) {
	if testing.Short() {
		t.Skip("waits up to 90 s for keepalive to notice a hung peer")
	}
	t.Parallel()
	a := startAdmitted(t, nil)
	proxy := newHangable(t, a.conn.Target())
	conn, err := rpc.Dial(proxy.lis.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	if _, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	proxy.hung.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	_, err = health.Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("call to a hung peer: %v, want Unavailable from keepalive before the deadline", err)
	}
}

// TestReconnect_BackoffBounded: a peer that was down for a while is used
// again soon after it is back, not after a long reconnect backoff.
func TestReconnect_BackoffBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps a peer down for 20 s")
	}
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nobody listens yet
	conn, err := rpc.Dial(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Connect()
	health := healthpb.NewHealthClient(conn)
	// Down for 20 s: gRPC's default backoff (1 s × 1.6ⁿ) would make the
	// next attempt 5 to 9 s later.
	until := time.Now().Add(20 * time.Second)
	for time.Now().Before(until) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		_, _ = health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		time.Sleep(300 * time.Millisecond)
	}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := rpc.NewServer(rpc.ServerConfig{})
	go func() { _ = srv.GRPC.Serve(lis) }()
	defer srv.GRPC.Stop()

	// Wait-for-ready, bounded by a deadline a little above the backoff cap.
	ctx, cancel := context.WithTimeout(t.Context(), rpc.MaxReconnectDelay+2*time.Second)
	defer cancel()
	if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Errorf("peer back, yet no answer within the reconnect backoff cap: %v", err)
	}
}
