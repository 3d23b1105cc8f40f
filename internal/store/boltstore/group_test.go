package boltstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/innovationsmotorer/motor/internal/store"
)

// lastTx is the id of the last committed read-write transaction.
func lastTx(t *testing.T, s *Store) int {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestGroupCommitSharesTransactions: concurrent Commits share transactions
// (fewer transactions, and so fsyncs, than Commits), and each still gets
// its own outcome: the losers of one compare-and-set fail alone, an
// idempotency key written twice in one group is a replay the second time.
func TestGroupCommitSharesTransactions(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ns := store.Namespace{Service: "svc", Region: "r"}
	ctx := t.Context()
	if _, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "shared", Value: []byte("0")}}}); err != nil {
		t.Fatal(err)
	}
	before := lastTx(t, s)

	const writers, each = 32, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost, replays := 0, 0, 0
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Everyone tries the same compare-and-set on version 1:
				// exactly one wins.
				_, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "shared", Value: []byte("x"), Version: 1}}})
				mu.Lock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrConflict):
					lost++
				default:
					t.Errorf("compare-and-set: %v", err)
				}
				mu.Unlock()
				// Two writers share each request id: one writes, the other
				// replays the first one's result.
				key := fmt.Sprintf("w%d-%d", w, i)
				res, err := s.Commit(ctx, ns, store.Write{
					Puts:        []store.Put{{Key: key, Value: []byte(key), Index: []store.IndexEntry{{Index: "by", Term: key}}}},
					Idempotency: &store.Idempotency{Key: fmt.Sprintf("req-%d-%d", w/2, i), Fingerprint: "f", Result: []byte(key)},
					Events:      []store.Event{{Actor: "a", Action: "Create", Key: key}},
				})
				if err != nil {
					t.Errorf("create %s: %v", key, err)
					continue
				}
				if res.Replayed {
					mu.Lock()
					replays++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != writers*each-1 {
		t.Errorf("compare-and-set on one version: %d won, %d lost; want 1 and %d", won, lost, writers*each-1)
	}
	if replays != writers*each/2 {
		t.Errorf("replays = %d, want %d (one per shared request id)", replays, writers*each/2)
	}
	evs, err := s.Events(ctx, ns, 0, 10*writers*each)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != writers*each/2 {
		t.Errorf("%d events, want %d: a replay must write none", len(evs), writers*each/2)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}
	commits := 2 * writers * each
	if txs := lastTx(t, s) - before; txs >= commits {
		t.Errorf("%d transactions for %d concurrent commits: commits are not grouped", txs, commits)
	} else {
		t.Logf("%d commits in %d transactions", commits, txs)
	}
}

// TestGroupCommitPanicFailsAlone: a commit whose function panics gets an
// error; the others in its transaction commit.
func TestGroupCommitPanicFailsAlone(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "panic.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.group.update(func(tx *bolt.Tx) error {
				if i == 7 {
					panic("boom")
				}
				b, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return b.Put([]byte{byte(i)}, []byte("v"))
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 7) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error { n = tx.Bucket([]byte("b")).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 15 {
		t.Errorf("%d keys written, want 15", n)
	}
}
