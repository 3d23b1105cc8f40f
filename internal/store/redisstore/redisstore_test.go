package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/store/storetest"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

func open(t testing.TB, url string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := testenv.StartRedis(t)
	// Subtests share the server; the suite keeps them apart by namespace.
	storetest.Run(t, func(t testing.TB) store.Store { return open(t, srv.URL()) })
}

func TestKeysCarryHashTag(t *testing.T) {
	srv := testenv.StartRedis(t)
	s := open(t, srv.URL())
	ns := store.Namespace{Service: "ideas", Region: "skane"}
	if _, err := s.Commit(t.Context(), ns, store.Write{
		Puts:        []store.Put{{Key: "a", Index: []store.IndexEntry{{Index: "status", Term: "open"}}}},
		Idempotency: &store.Idempotency{Key: "req"},
		Events:      []store.Event{{Action: "create"}},
	}); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	keys, err := rdb.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"{ideas:skane}:r:a": true, "{ideas:skane}:i:status": true, "{ideas:skane}:k:req": true, "{ideas:skane}:e": true}
	got := map[string]bool{}
	for _, k := range keys {
		got[k] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys mismatch (-want +got):\n%s", diff)
	}
}

func TestScriptCacheFlushed(t *testing.T) {
	srv := testenv.StartRedis(t)
	s := open(t, srv.URL())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	ns := store.Namespace{Service: "svc", Region: "r"}
	if _, err := s.Commit(t.Context(), ns, store.Write{Puts: []store.Put{{Key: "k", Index: []store.IndexEntry{{Index: "i"}}}}}); err != nil {
		t.Fatalf("Commit after SCRIPT FLUSH: %v", err)
	}
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if page, err := s.Scan(t.Context(), ns, store.Query{Index: "i"}); err != nil || len(page.Items) != 1 {
		t.Fatalf("Scan after SCRIPT FLUSH: %+v, %v", page, err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	url := fmt.Sprintf("redis://127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, url)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a closed port succeeded")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	if _, err := redisstore.Open(t.Context(), "http://nope"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v, want a URL error", err)
	}
}

func TestKilledServerIsUnavailable(t *testing.T) {
	srv := testenv.StartRedis(t)
	s := open(t, srv.URL())
	ns := store.Namespace{Service: "svc", Region: "r"}
	if _, err := s.Commit(t.Context(), ns, store.Write{
		Puts:   []store.Put{{Key: "k", Value: []byte("before"), Index: []store.IndexEntry{{Index: "i", Term: "t"}}}},
		Events: []store.Event{{Action: "create"}},
	}); err != nil {
		t.Fatal(err)
	}

	srv.Kill()

	calls := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, ns, "k"); return err }},
		{"Commit", func(ctx context.Context) error {
			_, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "k", Version: 1}}})
			return err
		}},
		{"Scan", func(ctx context.Context) error { _, err := s.Scan(ctx, ns, store.Query{Index: "i"}); return err }},
		{"Events", func(ctx context.Context) error { _, err := s.Events(ctx, ns, 0, 10); return err }},
	}
	for _, c := range calls {
		t.Run("down/"+c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := c.fn(ctx)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("failing took %v; a dead server should fail fast", d)
			}
		})
	}

	srv.Restart(t)

	// The pool notices dead connections lazily, so allow a short recovery.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Ping(t.Context())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range calls {
		t.Run("up/"+c.name, func(t *testing.T) {
			// A pooled connection from before the kill may still fail once
			// (retries are off by design); the store must recover right after.
			deadline := time.Now().Add(5 * time.Second)
			for {
				err := c.fn(t.Context())
				if err == nil {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("after restart: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	rec, err := s.Get(t.Context(), ns, "k")
	if err != nil {
		t.Fatal(err)
	}
	// The write acknowledged before the kill survived it (AOF), and the
	// compare-and-set after the restart built on it.
	if rec.Version != 2 {
		t.Errorf("version after restart = %d, want 2", rec.Version)
	}
}
