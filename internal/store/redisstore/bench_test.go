package redisstore_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// Each benchmark measures the store next to raw go-redis commands on the
// same server in the same run, interleaved so that load from other
// processes hits both alike, and reports the ratio as "x-raw" (1.0 = no
// overhead). The raw client is plain go-redis without instrumentation.

const benchValueSize = 512

func benchValue() []byte { return bytes.Repeat([]byte{'v'}, benchValueSize) }

func rawClient(b *testing.B, srv *testenv.Redis) *redis.Client {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 64})
	b.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// pair times a raw and a store operation alternately, so both see the same
// machine load, and reports each one's ns/op and their ratio. With parallel
// set it runs in b.RunParallel with 16 goroutines per CPU and compares mean
// latencies under that concurrency.
func pair(b *testing.B, parallel bool, raw, st func(i int64) error) {
	var (
		rawD, stD atomic.Int64
		n         atomic.Int64
	)
	body := func(next func() bool) {
		var r, s time.Duration
		for next() {
			i := n.Add(1)
			ops := []func(int64) error{raw, st}
			durs := []*time.Duration{&r, &s}
			if i%2 == 0 { // alternate the order so neither always runs warm
				ops[0], ops[1], durs[0], durs[1] = ops[1], ops[0], durs[1], durs[0]
			}
			for j, op := range ops {
				start := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				*durs[j] += time.Since(start)
			}
		}
		rawD.Add(int64(r))
		stD.Add(int64(s))
	}
	if parallel {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) { body(pb.Next) })
	} else {
		body(b.Loop)
	}
	rawNs, stNs := float64(rawD.Load())/float64(b.N), float64(stD.Load())/float64(b.N)
	b.ReportMetric(rawNs, "raw-ns/op")
	b.ReportMetric(stNs, "store-ns/op")
	b.ReportMetric(stNs/rawNs, "x-raw")
	if !parallel || b.N > 1 { // RunParallel first probes with b.N == 1
		b.Logf("x-raw = %.3f (store %.0f ns/op, raw %.0f ns/op, n=%d)", stNs/rawNs, stNs, rawNs, b.N)
	}
}

// BenchmarkCommit: store Commit creating a key (one EVALSHA) vs SET.
func BenchmarkCommit(b *testing.B) {
	srv := testenv.StartRedis(b)
	rdb, s := rawClient(b, srv), open(b, srv.URL())
	value := benchValue()
	ns := store.Namespace{Service: "bench", Region: "commit"}
	pair(b, false, func(i int64) error {
		return rdb.Set(b.Context(), fmt.Sprint("raw:", i), value, 0).Err()
	}, func(i int64) error {
		_, err := s.Commit(b.Context(), ns, store.Write{Puts: []store.Put{{Key: fmt.Sprint("k", i), Value: value}}})
		return err
	})
}

// BenchmarkCommitParallel: the same with 16 writers per CPU.
func BenchmarkCommitParallel(b *testing.B) {
	srv := testenv.StartRedis(b)
	rdb, s := rawClient(b, srv), open(b, srv.URL())
	value := benchValue()
	// Every call of this function (RunParallel makes several) has its own
	// server, so keys restart at 1 safely.
	ns := store.Namespace{Service: "bench", Region: "parallel"}
	pair(b, true, func(i int64) error {
		return rdb.Set(b.Context(), fmt.Sprint("raw:", i), value, 0).Err()
	}, func(i int64) error {
		_, err := s.Commit(b.Context(), ns, store.Write{Puts: []store.Put{{Key: fmt.Sprint("k", i), Value: value}}})
		return err
	})
}

// BenchmarkGet: store Get (HMGET of version and value) vs GET, one of 1000
// keys.
func BenchmarkGet(b *testing.B) {
	srv := testenv.StartRedis(b)
	rdb, s := rawClient(b, srv), open(b, srv.URL())
	value := benchValue()
	ns := store.Namespace{Service: "bench", Region: "get"}
	const keys = 1000
	puts := make([]store.Put, keys)
	for i := range puts {
		puts[i] = store.Put{Key: fmt.Sprint("k", i), Value: value}
		if err := rdb.Set(b.Context(), fmt.Sprint("raw:", i), value, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Commit(b.Context(), ns, store.Write{Puts: puts}); err != nil {
		b.Fatal(err)
	}
	pair(b, false, func(i int64) error {
		return rdb.Get(b.Context(), fmt.Sprint("raw:", i%keys)).Err()
	}, func(i int64) error {
		_, err := s.Get(b.Context(), ns, fmt.Sprint("k", i%keys))
		return err
	})
}
