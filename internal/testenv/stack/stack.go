// Package stack starts Motor's pieces for tests the way production runs
// them: a real gRPC server with the full interceptor chain on a loopback
// listener, the real gateway in front of it over httptest, tokens signed by a
// dev key, on either store backend. It is separate from testenv because it
// imports the store backends, whose own tests use testenv.
package stack

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// Backend opens a fresh, empty store of one kind.
type Backend struct {
	Name string
	Open func(t testing.TB) store.Store
}

// Backends are both store backends. The Redis one starts its own
// redis-server (and skips, or fails under MOTOR_REQUIRE_REDIS=1, without one).
func Backends() []Backend {
	return []Backend{
		{Name: "bbolt", Open: func(t testing.TB) store.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "motor.db"))
			if err != nil {
				t.Fatalf("boltstore.Open: %v", err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{Name: "redis", Open: func(t testing.TB) store.Store {
			r := testenv.StartRedis(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := redisstore.Open(ctx, r.URL())
			if err != nil {
				t.Fatalf("redisstore.Open: %v", err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
	}
}

// Env is a running stack.
type Env struct {
	Store  store.Store
	Signer *auth.Signer
	Conn   *grpc.ClientConn // to the gRPC server, through its interceptors
	HTTP   *httptest.Server // the gateway
	// Credential is the server's service credential: wrap Conn with
	// auth.AsService(Conn, Credential) for calls a service makes as itself.
	Credential *auth.ServiceCredential
	// Verifier checks the server's tokens; Verifications counts them.
	Verifier *auth.Verifier
}

// Start serves the services register puts on the server, backed by st, and a
// gateway in front of them. Everything stops in t.Cleanup.
func Start(t testing.TB, st store.Store, register func(s *grpc.Server)) *Env {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{Service: "motor-test", Target: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return StartWith(t, st, tel, register)
}

// StartWith is Start with the telemetry the server, its connection and the
// gateway use: a test that records spans passes its own.
func StartWith(t testing.TB, st store.Store, tel *telemetry.Telemetry, register func(s *grpc.Server)) *Env {
	t.Helper()
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.NewServiceCredential("")
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), Telemetry: tel, Credential: cred})
	register(srv.GRPC)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, lis, 5*time.Second)
	}()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := rpc.Dial(lis.Addr().String(), tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h, err := gateway.New(ctx, gateway.Config{Upstreams: gateway.AllOn(conn), Telemetry: tel, Ready: st.Ping})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &Env{Store: st, Signer: signer, Conn: conn, HTTP: hs, Credential: cred, Verifier: signer.Verifier()}
}

// Token signs a token for the claims, valid for an hour.
func (e *Env) Token(t testing.TB, c auth.Claims) string {
	t.Helper()
	tok, err := e.Signer.Sign(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Caller is a token and the context that carries it on gRPC calls.
type Caller struct {
	Token string
	Sub   string
}

// As returns a caller with one role in a region; sub defaults to
// "ROLE-REGION". Partner callers belong to regions/REGION/partners/test-partner.
func (e *Env) As(t testing.TB, role auth.Role, region string, sub ...string) Caller {
	s := string(role) + "-" + region
	if len(sub) > 0 {
		s = sub[0]
	}
	c := auth.Claims{Subject: s, Name: s, Region: region, Roles: []auth.Role{role}}
	if role == auth.Partner {
		c.Partner = "regions/" + region + "/partners/test-partner"
	}
	return Caller{Token: e.Token(t, c), Sub: s}
}

// Ctx returns t's context carrying the caller's bearer token.
func (c Caller) Ctx(t testing.TB) context.Context {
	return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+c.Token)
}

// REST sends one JSON request through the gateway as c and decodes the
// answer, failing t when the answer is not JSON.
func (e *Env) REST(t testing.TB, c Caller, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.HTTP.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// LoadRecords writes the records of a fixture file into namespace ns of
// the stack's store, as they are, in one commit: records as an earlier
// version of a service stored them. The file is a JSON list of {key, value,
// index} with value as a string and index as store.IndexEntry values.
func (e *Env) LoadRecords(t testing.TB, ns store.Namespace, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Key   string             `json:"key"`
		Value string             `json:"value"`
		Index []store.IndexEntry `json:"index"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var w store.Write
	for _, r := range recs {
		w.Puts = append(w.Puts, store.Put{Key: r.Key, Value: []byte(r.Value), Index: r.Index})
	}
	if _, err := e.Store.Commit(context.Background(), ns, w); err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
}
