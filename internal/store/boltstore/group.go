package boltstore

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many Commits share one transaction, so one
// transaction (and the memory of its dirty pages) stays bounded under any
// load.
const maxGroup = 1000

// group is a group commit in front of bbolt's single writer: a Commit that
// finds no transaction running starts one at once, with no delay; Commits
// that arrive while a transaction runs (mostly: while it waits for its
// fsync) queue, and the next transaction takes the whole queue. Under
// concurrency every transaction therefore carries everything that arrived
// during the previous one, and the fsyncs per Commit fall with the load.
//
// bbolt's own db.Batch cuts a batch after MaxBatchDelay even while the
// previous transaction still holds the writer lock, so batches queued
// behind a slow fsync stay small and each pays its own fsync.
//
// One of the waiting callers runs the transaction (the leader); when it is
// done it hands the lead to the first caller still queued, so no goroutine
// runs for the store and no caller waits for others' later transactions.
type group struct {
	db      *bolt.DB
	mu      sync.Mutex
	queue   []*call
	running bool // a leader is running or about to run a transaction
}

type call struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered: errLead, then the call's result
}

// errLead tells a queued caller that it runs the next transaction.
var errLead = errors.New("boltstore: lead the next transaction")

// update runs fn in a read-write transaction shared with the Commits that
// queued with it, and returns once that transaction is committed and
// fsynced (or failed). As with db.Batch, fn may run more than once and must
// only assign its results afresh on each run.
func (g *group) update(fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.running {
		g.mu.Unlock()
		if err := <-c.done; err != errLead {
			return err
		}
	} else {
		g.running = true
		g.mu.Unlock()
	}
	g.lead()
	return <-c.done
}

// lead runs one transaction for the queue as it stands (the leader's own
// call included), then passes the lead on or ends it.
func (g *group) lead() {
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	calls := g.queue[:n:n]
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil // let the backing array go
	}
	g.mu.Unlock()

	g.run(calls)

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- errLead
	} else {
		g.running = false
	}
	g.mu.Unlock()
}

// run commits calls in one transaction. A call whose fn fails (or panics)
// rolls the transaction back; it is taken out and run on its own, and the
// others run again together, as db.Batch does.
func (g *group) run(calls []*call) {
	for len(calls) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := safely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range calls {
				c.done <- err
			}
			return
		}
		c := calls[failed]
		calls = append(calls[:failed:failed], calls[failed+1:]...)
		c.done <- g.db.Update(func(tx *bolt.Tx) error { return safely(c.fn, tx) })
	}
}

// safely turns a panic in fn into an error, so one bad call cannot take
// down the transaction of the others (nor leave them waiting).
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("boltstore: panic in commit: %v", p)
		}
	}()
	return fn(tx)
}
