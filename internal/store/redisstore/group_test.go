package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// pipelineCounter counts the pipelines the client sends and the commands
// in them.
type pipelineCounter struct{ pipelines, cmds atomic.Int64 }

func (*pipelineCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (*pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestPipelinedCommitsKeepTheirOutcomes: concurrent Commits go out in
// pipelines, and each keeps its own outcome as a script of its own: one
// compare-and-set on a version wins, the rest conflict; of two Commits
// with one request id one writes, the other replays; a replay writes no
// event. After the server's script cache is flushed, commits load the
// script again.
func TestPipelinedCommitsKeepTheirOutcomes(t *testing.T) {
	srv := testenv.StartRedis(t)
	s, err := Open(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h := &pipelineCounter{}
	s.rdb.AddHook(h)
	ns := store.Namespace{Service: "svc", Region: "r"}
	ctx := t.Context()
	if _, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "shared", Value: []byte("0")}}}); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		if round == 1 {
			if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		const writers, each = 32, 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost, replays := 0, 0, 0
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "shared", Value: []byte("x"), Version: int64(1 + round)}}})
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
					key := fmt.Sprintf("%d-w%d-%d", round, w, i)
					res, err := s.Commit(ctx, ns, store.Write{
						Puts:        []store.Put{{Key: key, Value: []byte(key), Index: []store.IndexEntry{{Index: "by", Term: key}}}},
						Idempotency: &store.Idempotency{Key: fmt.Sprintf("req-%d-%d-%d", round, w/2, i), Fingerprint: "f", Result: []byte(key)},
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
			t.Errorf("round %d: compare-and-set on one version: %d won, %d lost; want 1 and %d", round, won, lost, writers*each-1)
		}
		if replays != writers*each/2 {
			t.Errorf("round %d: replays = %d, want %d", round, replays, writers*each/2)
		}
	}
	evs, err := s.Events(ctx, ns, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2*32*20/2 {
		t.Errorf("%d events, want %d: a replay must write none", len(evs), 2*32*20/2)
	}
	if h.pipelines.Load() == 0 || h.cmds.Load() <= h.pipelines.Load() {
		t.Errorf("%d pipelines with %d commands: concurrent commits were not pipelined", h.pipelines.Load(), h.cmds.Load())
	} else {
		t.Logf("%d pipelines, %.1f commits each", h.pipelines.Load(), float64(h.cmds.Load())/float64(h.pipelines.Load()))
	}
}

// TestQueuedCommitLeavesOnCancel: a Commit whose context ends while it
// waits for a pipeline returns the context's error and is never run.
func TestQueuedCommitLeavesOnCancel(t *testing.T) {
	srv := testenv.StartRedis(t)
	s, err := Open(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ns := store.Namespace{Service: "svc", Region: "r"}
	// Hold every pipeline slot, as if maxPipelines round trips were out.
	s.commits.mu.Lock()
	s.commits.running = maxPipelines
	s.commits.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "late", Value: []byte("v")}}})
		errc <- err
	}()
	for {
		s.commits.mu.Lock()
		n := len(s.commits.queue)
		s.commits.mu.Unlock()
		if n == 1 {
			break
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued commit after cancel: %v, want context.Canceled", err)
	}
	s.commits.mu.Lock()
	left := len(s.commits.queue)
	s.commits.running = 0
	s.commits.mu.Unlock()
	if left != 0 {
		t.Errorf("%d commits left in the queue", left)
	}
	if _, err := s.Get(t.Context(), ns, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of the cancelled commit's key: %v, want not found", err)
	}
}
