package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/innovationsmotorer/motor/internal/store/boltstore"
)

// compact rewrites the embedded store's file with only its current data,
// so the bytes of erased personal data leave the disk (README, "Erasure").
// motor serve must be stopped.
func compact(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data", "data folder holding motor.db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("compact: unexpected arguments %v", fs.Args())
	}
	path := filepath.Join(*data, "motor.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compact: no embedded store at %s (a Redis store rewrites its own files after an erasure)", path)
	}
	before, after, err := boltstore.Compact(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "motor: compacted %s: %d bytes, now %d\n", path, before, after)
	return err
}
