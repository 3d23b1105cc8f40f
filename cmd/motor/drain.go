package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// lifecycle is how `motor serve` runs its pieces and stops them: every
// piece's first error stops the process, and on stop the pieces drain in
// order. HTTP stops taking requests and finishes the ones in flight (a body
// still arriving included), then gRPC does the same, all within -drain.
type lifecycle struct {
	drain time.Duration
	// errc takes every piece's errors; the first one stops the process.
	errc  chan error
	waits []<-chan struct{}
	// draining is closed when the drain starts, at drainStart (written
	// once, before the close).
	draining   chan struct{}
	drainStart time.Time
	// httpDrained is closed when the HTTP server has drained, or at the
	// start of the drain when there is none (httpServes false).
	httpDrained chan struct{}
	httpServes  bool
	// grpcCtx ends when HTTP has drained: the gateway's calls in flight
	// need the services until their last answer is written.
	grpcCtx    context.Context
	grpcCancel context.CancelFunc
}

func newLifecycle(drain time.Duration) *lifecycle {
	l := &lifecycle{drain: drain, errc: make(chan error, 4), draining: make(chan struct{}), httpDrained: make(chan struct{})}
	l.grpcCtx, l.grpcCancel = context.WithCancel(context.Background())
	go func() {
		<-l.draining
		<-l.httpDrained
		l.grpcCancel()
	}()
	return l
}

// drainLeft is what is left of -drain since the drain started.
func (l *lifecycle) drainLeft() time.Duration { return max(l.drain-time.Since(l.drainStart), 0) }

// wait makes stop wait for done.
func (l *lifecycle) wait(done <-chan struct{}) { l.waits = append(l.waits, done) }

// run runs f until it returns; stop waits for it, and its error stops the
// process.
func (l *lifecycle) run(f func() error) {
	done := make(chan struct{})
	l.wait(done)
	go func() {
		defer close(done)
		if err := f(); err != nil {
			l.errc <- err
		}
	}()
}

// serveHTTP serves hs on lis until the drain, then drains it.
func (l *lifecycle) serveHTTP(hs *http.Server, lis net.Listener, logger *slog.Logger) {
	served := make(chan struct{})
	l.httpServes = true
	go func() {
		defer close(served)
		if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.errc <- fmt.Errorf("http.Serve: %w", err)
		}
	}()
	go func() {
		defer close(l.httpDrained)
		<-l.draining
		drainHTTP(hs, l.drainLeft(), logger)
		<-served
	}()
}

// runUntilStopped waits for ctx to end or a piece to fail, then drains:
// cancel ends the pieces that stop at once, the HTTP server and then the
// gRPC server drain, and it returns once every piece has returned, with
// the failure that stopped the process (nil for a signal).
func (l *lifecycle) runUntilStopped(ctx context.Context, cancel context.CancelFunc, logger *slog.Logger) error {
	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: draining calls in flight", "drain", l.drain.String())
	case runErr = <-l.errc:
		logger.Error("stopping after failure", "error", runErr)
	}
	l.drainStart = time.Now()
	close(l.draining)
	if !l.httpServes {
		close(l.httpDrained)
	}
	cancel()
	<-l.httpDrained
	for _, w := range l.waits {
		<-w
	}
	logger.Info("motor stopped")
	return runErr
}

// drainHTTP stops hs taking requests and waits up to drain for those in
// flight (Shutdown waits for every active connection, one whose request
// body is still arriving too), then cuts what is left.
func drainHTTP(hs *http.Server, drain time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		logger.Warn("http drain incomplete: closing the connections left", "drain", drain.String(), "error", err)
		_ = hs.Close()
	}
}
