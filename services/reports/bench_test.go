package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// benchIdea is an idea and its history as the scan baseline stores them.
type benchIdea struct {
	Idea    []byte   `json:"idea"`
	History [][]byte `json:"history"`
}

// syntheticIdeas are n ideas over two years, moving along the pipeline a
// few weeks a stage.
func syntheticIdeas(n int) [][2]any {
	origins := []ideav1.Origin{ideav1.Origin_ORIGIN_PATIENT, ideav1.Origin_ORIGIN_STAFF, ideav1.Origin_ORIGIN_RELATIVE, ideav1.Origin_ORIGIN_COMPANY}
	areas := []string{"Lungmedicin", "Ortopedi", "Primärvård", "Psykiatri", "Akutsjukvård", "Geriatrik"}
	start := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	out := make([][2]any, n)
	for i := range n {
		created := start.Add(time.Duration(i%730)*24*time.Hour + time.Duration(i%13)*time.Hour)
		idea := &ideav1.Idea{
			Name: fmt.Sprintf("regions/uppsala/ideas/i%06d", i), Origin: origins[i%len(origins)], CareArea: areas[i%len(areas)],
			CreateTime: timestamppb.New(created), UpdateTime: timestamppb.New(created),
		}
		var hist []*ideav1.HistoryEntry
		at, from := created, ideav1.Stage_STAGE_SUBMITTED
		for j, to := range pipeline[1:5] {
			if i%(j+2) != 0 {
				break
			}
			at = at.Add(time.Duration(7+(i+j)%40) * 24 * time.Hour)
			hist = append(hist, &ideav1.HistoryEntry{FromStage: from, ToStage: to, Time: timestamppb.New(at)})
			from = to
		}
		out[i] = [2]any{idea, hist}
	}
	return out
}

// BenchmarkIdeaReport100k: a year's idea report of a region with 100 000
// ideas, read over gRPC from the aggregates the follower keeps, against
// computing the same report by scanning the same ideas with their history
// from the same store in the same run (a lower bound of what a per-request
// scan costs: no gRPC, no redaction, no paging through the idea service),
// and against a bare gRPC call on the same connection.
func BenchmarkIdeaReport100k(b *testing.B) {
	const n = 100_000
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "motor.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	ideas := syntheticIdeas(n)

	// The same ideas twice: as records to scan, and folded into the
	// aggregates the follower keeps.
	scanNS := store.Namespace{Service: "reports-bench-scan", Region: "uppsala"}
	months := map[month]*monthAgg{}
	var w store.Write
	flush := func() {
		if _, err := st.Commit(ctx, scanNS, w); err != nil {
			b.Fatal(err)
		}
		w = store.Write{}
	}
	for i, pair := range ideas {
		idea, hist := pair[0].(*ideav1.Idea), pair[1].([]*ideav1.HistoryEntry)
		for _, f := range ideaFacts(idea, hist) {
			a := months[f.Month]
			if a == nil {
				a = &monthAgg{}
				months[f.Month] = a
			}
			a.add(f, 1)
		}
		rec := benchIdea{}
		if rec.Idea, err = proto.Marshal(idea); err != nil {
			b.Fatal(err)
		}
		for _, h := range hist {
			hb, err := proto.Marshal(h)
			if err != nil {
				b.Fatal(err)
			}
			rec.History = append(rec.History, hb)
		}
		v, err := json.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		w.Puts = append(w.Puts, store.Put{Key: fmt.Sprintf("i%06d", i), Value: v, Index: []store.IndexEntry{{Index: "all", Term: "x"}}})
		if len(w.Puts) == 5000 {
			flush()
		}
	}
	tx := newTxn(st, ns("uppsala"))
	for m, a := range months {
		if _, err := tx.getJSON(ctx, ideaFamily.monthKey(m), &monthAgg{}); err != nil {
			b.Fatal(err)
		}
		if err := tx.putJSON(ideaFamily.monthKey(m), a); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.commit(ctx); err != nil {
		b.Fatal(err)
	}

	served, _ := config.ParseServed("uppsala")
	srv := New(Config{Store: st, Regions: served, Ideas: func(context.Context, string) (*ideav1.Idea, []*ideav1.HistoryEntry, bool, error) {
		return nil, nil, false, fmt.Errorf("the benchmark's idea log is empty")
	}})
	env := stack.Start(b, st, func(s *grpc.Server) { reportsv1.RegisterReportServiceServer(s, srv) })
	caller := env.As(b, auth.Advisor, "uppsala")
	client := reportsv1.NewReportServiceClient(env.Conn)
	req := &reportsv1.GetIdeaReportRequest{Parent: "regions/uppsala", Period: "2025", Interval: "month"}
	report := func() *reportsv1.IdeaReport {
		got, err := client.GetIdeaReport(caller.Ctx(b), req)
		if err != nil {
			b.Fatal(err)
		}
		return got
	}
	p, _ := parsePeriod("2025")
	scan := func() *reportsv1.IdeaReport {
		scanned := map[month]*monthAgg{}
		q := store.Query{Index: "all", Limit: 1000}
		for {
			page, err := st.Scan(ctx, scanNS, q)
			if err != nil {
				b.Fatal(err)
			}
			for _, it := range page.Items {
				var rec benchIdea
				if err := json.Unmarshal(it.Record.Value, &rec); err != nil {
					b.Fatal(err)
				}
				idea := &ideav1.Idea{}
				if err := proto.Unmarshal(rec.Idea, idea); err != nil {
					b.Fatal(err)
				}
				hist := make([]*ideav1.HistoryEntry, len(rec.History))
				for i, hb := range rec.History {
					hist[i] = &ideav1.HistoryEntry{}
					if err := proto.Unmarshal(hb, hist[i]); err != nil {
						b.Fatal(err)
					}
				}
				for _, f := range ideaFacts(idea, hist) {
					if f.Month < p.from || f.Month > p.to {
						continue
					}
					a := scanned[f.Month]
					if a == nil {
						a = &monthAgg{}
						scanned[f.Month] = a
					}
					a.add(f, 1)
				}
				q.After = it.Cursor
			}
			if !page.More {
				break
			}
		}
		return ideaReport("uppsala", p, byMonth, scanned)
	}

	got, want := report(), scan()
	got.AuditSequence = 0
	if !proto.Equal(got, want) {
		b.Fatalf("the report from the aggregates differs from the scan's:\n%v\n%v", got, want)
	}
	if want.GetFunnel()[0].GetCount() < n/3 {
		b.Fatalf("the scan found %d ideas submitted in 2025, want about half of %d", want.GetFunnel()[0].GetCount(), n)
	}
	fromAggregates := timePerOp(50, func() { report() })
	scanned := timePerOp(2, func() { scan() })
	health := healthpb.NewHealthClient(env.Conn)
	bare := timePerOp(200, func() {
		if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(float64(fromAggregates), "report-ns/op")
	b.ReportMetric(float64(scanned)/float64(fromAggregates), "scan/report")
	b.ReportMetric(float64(fromAggregates)/float64(bare), "report/bare-grpc")
	b.Logf("%d ideas, report of 2025 by month: from the aggregates %v/op, scanning the ideas %v/op (%.0fx), bare gRPC call %v/op (report %.1fx bare)",
		n, fromAggregates, scanned, float64(scanned)/float64(fromAggregates), bare, float64(fromAggregates)/float64(bare))
	for b.Loop() {
		report()
	}
}

func timePerOp(n int, f func()) time.Duration {
	f() // warm up
	start := time.Now()
	for range n {
		f()
	}
	return time.Since(start) / time.Duration(n)
}
