package boltstore_test

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/innovationsmotorer/motor/internal/store"
)

// Each benchmark measures the store next to raw bbolt doing the equivalent
// work on a file in the same directory, in the same run, and reports the
// ratio as "x-raw" (1.0 = no overhead; below 1 the store is faster).
// Absolute times depend on the disk's fsync latency; the ratios are what to
// watch. Single-writer benchmarks interleave raw and store operations so
// that load from other processes hits both alike; the parallel one compares
// throughput and so runs each side on its own.

const benchValueSize = 512

func benchNS() store.Namespace { return store.Namespace{Service: "bench", Region: "r"} }

func benchValue() []byte { return bytes.Repeat([]byte{'v'}, benchValueSize) }

func openRaw(b *testing.B) *bolt.DB {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("raw"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return db
}

func rawPut(key string, value []byte) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket([]byte("raw")).Put([]byte(key), value) }
}

// measure runs fn as sub-benchmark name and returns its final ns/op.
func measure(b *testing.B, name string, fn func(b *testing.B)) float64 {
	var nsPerOp float64
	b.Run(name, func(b *testing.B) {
		fn(b)
		nsPerOp = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	return nsPerOp
}

// reportRatios adds a "ratio" sub-benchmark carrying store/raw ratios as
// metrics, so they appear in the benchmark table, and logs them; only a leaf
// benchmark's log is printed without -v.
func reportRatios(b *testing.B, ratios map[string][2]float64) {
	b.Run("ratio", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(0, "ns/op")
		for _, unit := range slices.Sorted(maps.Keys(ratios)) {
			r := ratios[unit]
			if r[0] > 0 && r[1] > 0 {
				b.ReportMetric(r[0]/r[1], unit)
				b.Logf("%s = %.3f (store %.0f ns/op, raw %.0f ns/op)", unit, r[0]/r[1], r[0], r[1])
			}
		}
	})
}

// pair times a raw and a store operation alternately in one loop, so both
// see the same machine load, and reports each one's ns/op and their ratio.
func pair(b *testing.B, raw, st func(i int) error) {
	var rawD, stD time.Duration
	i := 0
	for b.Loop() {
		i++
		ops := []func(int) error{raw, st}
		durs := []*time.Duration{&rawD, &stD}
		if i%2 == 0 { // alternate the order so neither always runs warm
			ops[0], ops[1], durs[0], durs[1] = ops[1], ops[0], durs[1], durs[0]
		}
		for j, op := range ops {
			start := time.Now()
			if err := op(i); err != nil {
				b.Fatal(err)
			}
			*durs[j] += time.Since(start)
		}
	}
	rawNs, stNs := float64(rawD)/float64(b.N), float64(stD)/float64(b.N)
	b.ReportMetric(rawNs, "raw-ns/op")
	b.ReportMetric(stNs, "store-ns/op")
	b.ReportMetric(stNs/rawNs, "x-raw")
	b.Logf("x-raw = %.3f (store %.0f ns/op, raw %.0f ns/op, n=%d)", stNs/rawNs, stNs, rawNs, b.N)
}

// BenchmarkCommit: one writer; store Commit creating a key vs db.Update
// putting one.
func BenchmarkCommit(b *testing.B) {
	value := benchValue()
	db, s := openRaw(b), openTemp(b)
	pair(b, func(i int) error {
		return db.Update(rawPut(fmt.Sprint("k", i), value))
	}, func(i int) error {
		_, err := s.Commit(b.Context(), benchNS(), store.Write{Puts: []store.Put{{Key: fmt.Sprint("k", i), Value: value}}})
		return err
	})
}

// BenchmarkCommitParallel: many concurrent writers, where grouping commits
// into one fsync matters; store Commit vs db.Batch (bbolt's default 10ms
// MaxBatchDelay, and the store's 1ms) and vs db.Update.
func BenchmarkCommitParallel(b *testing.B) {
	value := benchValue()
	const writersPerProc = 16
	parallel := func(b *testing.B, op func(key string) error) {
		var n atomic.Int64
		b.SetParallelism(writersPerProc)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(fmt.Sprint("k", n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	batch := measure(b, "raw-batch", func(b *testing.B) {
		db := openRaw(b)
		parallel(b, func(key string) error { return db.Batch(rawPut(key, value)) })
	})
	// The store shortens MaxBatchDelay to 1ms; this baseline does the same,
	// so that its ratio shows the store's own overhead.
	batch1ms := measure(b, "raw-batch-1ms", func(b *testing.B) {
		db := openRaw(b)
		db.MaxBatchDelay = time.Millisecond
		parallel(b, func(key string) error { return db.Batch(rawPut(key, value)) })
	})
	update := measure(b, "raw-update", func(b *testing.B) {
		db := openRaw(b)
		parallel(b, func(key string) error { return db.Update(rawPut(key, value)) })
	})
	st := measure(b, "store", func(b *testing.B) {
		s := openTemp(b)
		parallel(b, func(key string) error {
			_, err := s.Commit(b.Context(), benchNS(), store.Write{Puts: []store.Put{{Key: key, Value: value}}})
			return err
		})
	})
	reportRatios(b, map[string][2]float64{"x-raw-batch": {st, batch}, "x-raw-batch-1ms": {st, batch1ms}, "x-raw-update": {st, update}})
}

// BenchmarkGet: store Get vs db.View reading one of 1000 keys.
func BenchmarkGet(b *testing.B) {
	value := benchValue()
	const keys = 1000
	db, s := openRaw(b), openTemp(b)
	puts := make([]store.Put, keys)
	for i := range puts {
		puts[i] = store.Put{Key: fmt.Sprint("k", i), Value: value}
	}
	if _, err := s.Commit(b.Context(), benchNS(), store.Write{Puts: puts}); err != nil {
		b.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, p := range puts {
			if err := rawPut(p.Key, p.Value)(tx); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	pair(b, func(i int) error {
		key := []byte(fmt.Sprint("k", i%keys))
		return db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket([]byte("raw")).Get(key)
			if v == nil {
				return fmt.Errorf("%s missing", key)
			}
			// Copy as the store must: the slice dies with the tx.
			_ = bytes.Clone(v)
			return nil
		})
	}, func(i int) error {
		_, err := s.Get(b.Context(), benchNS(), fmt.Sprint("k", i%keys))
		return err
	})
}
