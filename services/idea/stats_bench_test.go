package idea

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// BenchmarkIdeaStats10k measures what the national dashboard asks a region
// of 10 000 ideas: GetIdeaStats (counted on the stage index) against paging
// through ListIdeas and counting the ideas (how the dashboard counted
// before), and against a bare gRPC call on the same connection.
func BenchmarkIdeaStats10k(b *testing.B) {
	ideas := syntheticIdeas(10_000)
	stages := []ideav1.Stage{ideav1.Stage_STAGE_SUBMITTED, ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED, ideav1.Stage_STAGE_PARKED}
	for i, idea := range ideas {
		idea.Stage = stages[i%len(stages)]
	}
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "motor.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	loadIdeas(b, st, ideas)
	signer, err := auth.GenerateDevKey()
	if err != nil {
		b.Fatal(err)
	}
	served, _ := config.ParseServed("uppsala")
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier()})
	ideav1.RegisterIdeaServiceServer(srv.GRPC, New(Config{Store: st, Regions: served}))
	conn := serveLoopback(b, srv)
	tok, err := signer.Sign(auth.Claims{Subject: "coordinator", Region: auth.NationalRegion, Roles: []auth.Role{auth.Coordinator}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	client := ideav1.NewIdeaServiceClient(conn)

	stats := func() map[string]int64 {
		resp, err := client.GetIdeaStats(ctx, &ideav1.GetIdeaStatsRequest{Name: "regions/uppsala/ideaStats"})
		if err != nil {
			b.Fatal(err)
		}
		return resp.GetIdeasByStage()
	}
	paging := func() map[string]int64 {
		out := map[string]int64{}
		for token := ""; ; {
			resp, err := client.ListIdeas(ctx, &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageSize: resource.MaxPageSize, PageToken: token})
			if err != nil {
				b.Fatal(err)
			}
			for _, idea := range resp.GetIdeas() {
				out[idea.GetStage().String()]++
			}
			if token = resp.GetNextPageToken(); token == "" {
				return out
			}
		}
	}
	got, want := stats(), paging()
	if len(got) != len(stages) || got["STAGE_SCREENING"] != 2500 || len(want) != len(got) {
		b.Fatalf("GetIdeaStats %v, counted by paging %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			b.Fatalf("GetIdeaStats %v, counted by paging %v", got, want)
		}
	}

	count := timePerOp(50, func() { stats() })
	page := timePerOp(5, func() { paging() })
	health := healthpb.NewHealthClient(conn)
	bare := timePerOp(200, func() {
		if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(float64(count), "stats-ns/op")
	b.ReportMetric(float64(page)/float64(count), "paging/stats")
	b.ReportMetric(float64(count)/float64(bare), "stats/bare-grpc")
	b.Logf("10 000 ideas: GetIdeaStats %v/op, paging ListIdeas %v/op (%.0fx), bare gRPC call %v/op (stats %.1fx bare)",
		count, page, float64(page)/float64(count), bare, float64(count)/float64(bare))
	for b.Loop() {
		stats()
	}
}
