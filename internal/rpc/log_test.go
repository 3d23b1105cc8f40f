package rpc_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A call that succeeds is logged at debug, one that is refused at info.
func TestCallLogLevels(t *testing.T) {
	for _, tc := range []struct {
		level  slog.Level
		wantOK bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var log lockedBuffer
			signer, err := auth.GenerateDevKey()
			if err != nil {
				t.Fatal(err)
			}
			srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), Rules: testRules(auth.NoPeer),
				Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: tc.level}))})
			testpb.RegisterTestServiceServer(srv.GRPC, &testService{})
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
			defer conn.Close()
			if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
				t.Fatalf("health: %v", err)
			}
			if _, err := testpb.NewTestServiceClient(conn).EmptyCall(t.Context(), &testpb.Empty{}); err == nil {
				t.Fatal("call without token succeeded")
			}
			lines := log.String()
			if got := strings.Contains(lines, `"code":"OK"`); got != tc.wantOK {
				t.Errorf("at %v, a line for the successful call: %v, want %v\n%s", tc.level, got, tc.wantOK, lines)
			}
			if !strings.Contains(lines, `"code":"Unauthenticated"`) {
				t.Errorf("at %v, no line for the refused call:\n%s", tc.level, lines)
			}
		})
	}
}
