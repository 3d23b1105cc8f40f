package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/innovationsmotorer/motor/internal/rpc"
)

// TestServe_DrainFinishesRequestsInFlight: a POST still sending its body
// when SIGTERM arrives gets its answer, and only then does the process exit
// 0; new connections are refused meanwhile.
func TestServe_DrainFinishesRequestsInFlight(t *testing.T) {
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data, "-demo=false", "-drain", "20s")
	token := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")

	body := `{"title":"Drain","problem":"A request in flight at SIGTERM","origin":"ORIGIN_STAFF"}`
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/regions/vasterbotten/ideas HTTP/1.1\r\nHost: motor\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		token, len(body), body[:half])

	// Let the server read the headers, so the request is in flight.
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-p.exited:
		t.Fatalf("motor exited (%v) with a request in flight\n%s", err, p.stderr)
	default:
	}
	if _, err := fmt.Fprint(conn, body[half:]); err != nil {
		t.Fatalf("sending the rest of the body after SIGTERM: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the request in flight at SIGTERM: %v\n%s", err, p.stderr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("request in flight at SIGTERM: %s, want 200", resp.Status)
	}

	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("motor exited with %v after draining, want 0\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("motor did not exit after draining")
	}
}

// TestServe_DrainWaitsForGRPCCalls: a gRPC stream open at SIGTERM is told
// NOT_SERVING and kept until it ends, within -drain; then the process
// exits 0.
func TestServe_DrainWaitsForGRPCCalls(t *testing.T) {
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data, "-demo=false", "-drain", "20s")
	conn, err := rpc.Dial(p.grpc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: "innovation.idea.v1.IdeaService"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("before SIGTERM: %v %v, want SERVING", st, err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("after SIGTERM: %v %v, want NOT_SERVING on the open stream", st, err)
	}
	time.Sleep(time.Second)
	select {
	case err := <-p.exited:
		t.Fatalf("motor exited (%v) with a gRPC stream in flight\n%s", err, p.stderr)
	default:
	}
	cancel()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("motor exited with %v after draining, want 0\n%s", err, p.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("motor did not exit once the last call ended")
	}
}
