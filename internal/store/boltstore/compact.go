package boltstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Compact rewrites the file at path with only the data it holds now. bbolt
// reuses the pages of overwritten and deleted values but never clears
// them, so bytes of erased personal data (docs/architecture.md, "Identity and access") can stay in the file
// until a page happens to be written again; the copy leaves them behind.
// The file must not be open: run it with motor stopped. The copy replaces
// the file only once it is complete and synced, so a crash midway leaves
// the original as it was.
func Compact(path string) (before, after int64, err error) {
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return 0, 0, fmt.Errorf("boltstore.Compact: %s is open in another process (stop motor serve first)", path)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	defer src.Close()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".compact")
	_ = os.Remove(tmp) // left by a copy that did not finish
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	if err := src.Close(); err != nil {
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	// The rename is durable only once the folder is synced.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	nfi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("boltstore.Compact: %w", err)
	}
	return fi.Size(), nfi.Size(), nil
}
