package redisstore

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Group sizes of the commit pipeline.
const (
	// maxPipelines is how many pipelines of commits may be on the wire at
	// once. Below it a Commit is sent at once, alone, so a lone writer
	// waits for nobody; above it Commits queue for the next pipeline.
	maxPipelines = 4
	// maxPipelined bounds the commits of one pipeline.
	maxPipelined = 256
)

// commits sends concurrent Commits' scripts to Redis in pipelines: while
// maxPipelines round trips are under way, the Commits that arrive queue,
// and the caller whose round trip ends first sends the whole queue in one
// write and reads the replies in one go. Each Commit stays its own EVALSHA,
// which Redis runs atomically and alone as before; the pipeline only
// shares the round trip, the system calls and the pool checkout, the way
// one fsync is shared on bbolt. A pipeline is sent with no retry, as every
// command of the store (Open sets MaxRetries -1).
type commits struct {
	rdb     *redis.Client
	mu      sync.Mutex
	queue   []*pending
	running int // pipelines being sent by a leader
}

type pending struct {
	ctx  context.Context
	keys []string
	args []any
	res  []any
	err  error
	led  bool          // lead is closed (guarded by commits.mu)
	lead chan struct{} // closed: this caller sends the next pipeline
	done chan struct{} // closed: res and err are set
}

// run runs commitScript with keys and args and returns its reply.
func (c *commits) run(ctx context.Context, keys []string, args []any) ([]any, error) {
	p := &pending{ctx: ctx, keys: keys, args: args, lead: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	if c.running < maxPipelines {
		c.running++
		c.mu.Unlock()
	} else {
		c.mu.Unlock()
		select {
		case <-p.done:
		case <-p.lead:
		case <-ctx.Done():
			// Not sent yet: leave the queue, and the commit never runs.
			// Sent, or handed the lead meanwhile: go on as if in time.
			if c.leave(p) {
				return nil, ctx.Err()
			}
			select {
			case <-p.done:
			case <-p.lead:
			}
		}
		// A caller handed the lead holds a pipeline slot and must send,
		// even when another pipeline already took its own commit.
		select {
		case <-p.lead:
		default:
			return p.res, p.err
		}
	}
	c.send()
	<-p.done
	return p.res, p.err
}

// leave takes p out of the queue if it is still waiting there and has not
// been handed the lead.
func (c *commits) leave(p *pending) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.led {
		return false
	}
	for i, q := range c.queue {
		if q == p {
			c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
			return true
		}
	}
	return false
}

// send sends one pipeline of what is queued (the sender's own commit
// among it, unless a sender before it took it) and hands the lead on.
func (c *commits) send() {
	c.mu.Lock()
	n := min(len(c.queue), maxPipelined)
	batch := c.queue[:n:n]
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	c.mu.Unlock()

	switch len(batch) {
	case 0:
	case 1:
		p := batch[0]
		p.res, p.err = commitScript.Run(p.ctx, c.rdb, p.keys, p.args...).Slice()
		close(p.done)
	default:
		c.pipeline(batch)
	}

	c.mu.Lock()
	next := -1
	for i, q := range c.queue {
		if !q.led {
			next = i
			break
		}
	}
	if next >= 0 {
		c.queue[next].led = true
		close(c.queue[next].lead)
	} else {
		c.running--
	}
	c.mu.Unlock()
}

// pipeline sends batch in one round trip. The sender's context carries
// its trace, but the pipeline does not end with the sender's call: the
// commits of others ride on it, so only the client's socket timeouts
// bound it. A script the server no longer has (its cache was flushed) did
// not run; it is sent again alone, which loads it.
func (c *commits) pipeline(batch []*pending) {
	ctx := context.WithoutCancel(batch[0].ctx)
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, p := range batch {
		cmds[i] = commitScript.EvalSha(ctx, pipe, p.keys, p.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, p := range batch {
		p.res, p.err = cmds[i].Slice()
		if p.err != nil && redis.HasErrorPrefix(p.err, "NOSCRIPT") {
			p.res, p.err = commitScript.Run(p.ctx, c.rdb, p.keys, p.args...).Slice()
		}
		close(p.done)
	}
}
