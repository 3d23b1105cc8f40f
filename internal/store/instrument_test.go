package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/storetest"
)

func openBolt(t testing.TB) store.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestInstrument_Conformance: the instrumented store is still a store.
func TestInstrument_Conformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store {
		st, err := store.Instrument(openBolt(t), "bbolt", noop.NewMeterProvider())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// TestInstrument_RecordsLatency: every operation lands in the histogram by
// backend, operation and outcome.
func TestInstrument_RecordsLatency(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	st, err := store.Instrument(openBolt(t), "bbolt", sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := store.Namespace{Service: "idea", Region: "vasterbotten"}
	if _, err := st.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "a", Value: []byte("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, ns, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, ns, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[[3]string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != store.OperationDuration {
				continue
			}
			if m.Unit != "s" {
				t.Errorf("unit %q, want s", m.Unit)
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				v := func(k string) string { s, _ := dp.Attributes.Value(attribute.Key(k)); return s.AsString() }
				got[[3]string{v("store.backend"), v("store.operation"), v("error.type")}] += dp.Count
			}
		}
	}
	want := map[[3]string]uint64{
		{"bbolt", "commit", ""}:       1,
		{"bbolt", "get", ""}:          1,
		{"bbolt", "get", "not_found"}: 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%v: %d operations recorded, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

// BenchmarkInstrument_Get compares a Get through the instrumented store
// with one on the bare store it wraps, alternating on the same file so both
// see the same machine, and reports the ratio.
func BenchmarkInstrument_Get(b *testing.B) {
	bare := openBolt(b)
	ctx := context.Background()
	ns := store.Namespace{Service: "idea", Region: "vasterbotten"}
	if _, err := bare.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "a", Value: []byte("1")}}}); err != nil {
		b.Fatal(err)
	}
	inst, err := store.Instrument(bare, "bbolt", sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	if err != nil {
		b.Fatal(err)
	}
	var bareTime, instTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := bare.Get(ctx, ns, "a"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := inst.Get(ctx, ns, "a"); err != nil {
			b.Fatal(err)
		}
		bareTime += t1.Sub(t0)
		instTime += time.Since(t1)
	}
	b.ReportMetric(float64(bareTime.Nanoseconds())/float64(b.N), "bare-ns/get")
	b.ReportMetric(float64(instTime.Nanoseconds())/float64(b.N), "instrumented-ns/get")
	b.ReportMetric(float64(instTime)/float64(bareTime), "instrumented/bare")
}
