package store

import (
	"context"
	"fmt"
	"time"
)

// ScrubAfterErasure has st rewrite its files when it keeps old values in
// them (Scrubber), so a person's erased data leaves the disk; a store that
// does not is left alone. It waits for the rewrite to be started, at most
// a minute: every service erasing a person calls it after its own changes,
// so the last rewrite of an erasure sees all of them.
func ScrubAfterErasure(ctx context.Context, st Store) error {
	sc, ok := st.(Scrubber)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := sc.Scrub(ctx); err != nil {
		return fmt.Errorf("store.Scrub: %w", err)
	}
	return nil
}
