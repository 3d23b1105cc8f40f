package testenv_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

func TestFreePort(t *testing.T) {
	port := testenv.FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("FreePort returned %d, which cannot be bound: %v", port, err)
	}
	_ = l.Close()
}

func TestRedisKillRestart(t *testing.T) {
	r := testenv.StartRedis(t)
	if want := "redis://" + r.Addr; r.URL() != want {
		t.Errorf("URL() = %q, want %q", r.URL(), want)
	}
	dial := func() error {
		c, err := net.Dial("tcp", r.Addr)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("server not reachable after start: %v", err)
	}
	r.Kill()
	if err := dial(); err == nil {
		t.Fatal("server still reachable after Kill")
	}
	r.Kill() // a second kill is a no-op
	r.Restart(t)
	if err := dial(); err != nil {
		t.Fatalf("server not reachable after Restart: %v", err)
	}
	r.Restart(t) // restarting a running server replaces it
	if err := dial(); err != nil {
		t.Fatalf("server not reachable after second Restart: %v", err)
	}
}
