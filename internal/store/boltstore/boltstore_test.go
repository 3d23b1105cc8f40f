package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/storetest"
)

func openTemp(t testing.TB) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return openTemp(t) })
}

func TestClosedIsUnavailable(t *testing.T) {
	s := openTemp(t)
	ns := store.Namespace{Service: "svc", Region: "r"}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Get", func() error { _, err := s.Get(ctx, ns, "k"); return err }},
		{"Commit", func() error {
			_, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "k"}}})
			return err
		}},
		{"Scan", func() error { _, err := s.Scan(ctx, ns, store.Query{Index: "i"}); return err }},
		{"Events", func() error { _, err := s.Events(ctx, ns, 0, 1); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestSecondOpenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "motor.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	start := time.Now()
	if s2, err := boltstore.Open(path); err == nil {
		_ = s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("second Open took %v; it should give up quickly", d)
	}
}

// crashChildEnv switches the test binary into the crash child: it writes
// until killed and reports every acknowledged write on stdout.
const crashChildEnv = "BOLTSTORE_CRASH_CHILD_DB"

// TestCrashChild is the child half of TestCrashKeepsAcknowledgedWrites; run
// directly it does nothing.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("only runs as the child of TestCrashKeepsAcknowledgedWrites")
	}
	s, err := boltstore.Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ns := store.Namespace{Service: "crash", Region: "r"}
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Several writers so that commits go through db.Batch as well as the
	// lone-writer path.
	for g := range 4 {
		wg.Go(func() {
			counter := int64(0)
			for n := 0; ; n++ {
				res, err := s.Commit(context.Background(), ns, store.Write{
					Puts: []store.Put{
						{Key: fmt.Sprintf("w/%d/%d", g, n), Value: []byte(fmt.Sprintf("value %d %d", g, n)),
							Index: []store.IndexEntry{{Index: "by-writer", Term: strconv.Itoa(g)}}},
						{Key: fmt.Sprintf("c/%d", g), Value: []byte(strconv.Itoa(n)), Version: counter},
					},
					Idempotency: &store.Idempotency{Key: fmt.Sprintf("req/%d/%d", g, n), Fingerprint: "fp"},
					Events:      []store.Event{{Actor: strconv.Itoa(g), Action: "write", Key: strconv.Itoa(n)}},
				})
				if err != nil {
					mu.Lock()
					fmt.Println("error", err)
					mu.Unlock()
					os.Exit(2)
				}
				counter = res.Versions[1]
				// One unbuffered write per acknowledgement: what reached the
				// pipe was acknowledged before the kill.
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %d %d\n", g, n, counter)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	type ack struct{ g, n, counter int64 }
	var acks []ack
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		var a ack
		if _, err := fmt.Sscanf(line, "ack %d %d %d", &a.g, &a.n, &a.counter); err != nil {
			continue // test framework chatter
		}
		acks = append(acks, a)
		if len(acks) == 300 && !killed {
			// Mid-stream: the child is committing as fast as it can.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill after %d acks: %v", len(acks), err)
	}
	t.Logf("child killed after %d acknowledged writes (%v)", len(acks), err)

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen raw: %v", err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		// Drain the channel: the checker goroutine must finish before the
		// transaction closes.
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}); err != nil {
		t.Errorf("consistency check after crash: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	ns := store.Namespace{Service: "crash", Region: "r"}
	maxCounter := map[int64]int64{}
	perWriter := map[int64]int{}
	for _, a := range acks {
		key := fmt.Sprintf("w/%d/%d", a.g, a.n)
		rec, err := s.Get(ctx, ns, key)
		if err != nil {
			t.Errorf("acknowledged write %s lost: %v", key, err)
			continue
		}
		if want := fmt.Sprintf("value %d %d", a.g, a.n); rec.Version != 1 || string(rec.Value) != want {
			t.Errorf("%s = version %d %q, want version 1 %q", key, rec.Version, rec.Value, want)
		}
		maxCounter[a.g] = max(maxCounter[a.g], a.counter)
		perWriter[a.g]++
	}
	for g, want := range maxCounter {
		rec, err := s.Get(ctx, ns, fmt.Sprintf("c/%d", g))
		if err != nil {
			t.Errorf("counter %d: %v", g, err)
			continue
		}
		// Writes after the last acknowledgement may have committed too.
		if rec.Version < want {
			t.Errorf("counter %d at version %d, acknowledged %d", g, rec.Version, want)
		}
		page, err := s.Scan(ctx, ns, store.Query{Index: "by-writer", Prefix: strconv.FormatInt(g, 10), Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) < perWriter[g] || int64(len(page.Items)) != rec.Version {
			t.Errorf("writer %d: %d index entries, %d acknowledged, counter version %d", g, len(page.Items), perWriter[g], rec.Version)
		}
	}
	evs, err := s.Events(ctx, ns, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < len(acks) {
		t.Errorf("%d events for %d acknowledged writes", len(evs), len(acks))
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has Seq %d; the log has a gap", i, ev.Seq)
		}
	}
	// The store keeps working on the recovered file.
	if _, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "after-crash"}}}); err != nil {
		t.Errorf("commit after recovery: %v", err)
	}
}

// TestExpiredKeysAreSwept: Redis drops an expired idempotency key by
// itself; here the writes after its deadline delete it from the file, with
// its entries in both expiry buckets.
func TestExpiredKeysAreSwept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "motor.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ns := store.Namespace{Service: "svc", Region: "r"}
	for i := range 3 {
		_, err := s.Commit(t.Context(), ns, store.Write{
			Puts:        []store.Put{{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}},
			Idempotency: &store.Idempotency{Key: fmt.Sprintf("req-%d", i), Fingerprint: "f", TTL: 10 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := s.Commit(t.Context(), ns, store.Write{Puts: []store.Put{{Key: "later", Value: []byte("v")}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		nsb := tx.Bucket([]byte(ns.String()))
		for _, name := range []string{"k", "t", "q"} {
			if n := nsb.Bucket([]byte(name)).Stats().KeyN; n != 0 {
				t.Errorf("bucket %s holds %d keys after the sweep, want 0", name, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
