package idea

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/trigram"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// BenchmarkSearch10k measures ListIdeas' q over 10 000 ideas: the ranking
// on the index against folding and matching every idea's text, as a scan
// of the region would, in the same run; and over gRPC, a page of hits
// against reading every idea of the region through ListIdeas (what a
// search without q costs a client).
func BenchmarkSearch10k(b *testing.B) {
	ideas := syntheticIdeas(10_000)
	x := newSimIndex("uppsala")
	texts := make([]string, len(ideas))
	for i, idea := range ideas {
		x.put(idea, "bench")
		texts[i] = idea.GetTitle() + " " + idea.GetProblem()
	}
	q := trigram.Fold("hemmonitorering påminnelse")
	all := func(string) bool { return true }
	hits := len(x.searchText(q, all))
	index := timePerOp(50, func() { x.searchText(q, all) })
	scan := timePerOp(20, func() {
		n := 0
		for _, t := range texts {
			if trigram.Share(q, trigram.Fold(t)) >= searchThreshold {
				n++
			}
		}
	})

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
	tok, err := signer.Sign(auth.Claims{Subject: "bench", Region: "uppsala", Roles: []auth.Role{auth.Advisor}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	client := ideav1.NewIdeaServiceClient(conn)
	req := &ideav1.ListIdeasRequest{Parent: "regions/uppsala", Q: "hemmonitorering påminnelse"}
	if resp, err := client.ListIdeas(ctx, req); err != nil || len(resp.GetIdeas()) != 50 { // builds the index
		b.Fatalf("first search: %d ideas, %v", len(resp.GetIdeas()), err)
	}
	call := timePerOp(20, func() {
		if _, err := client.ListIdeas(ctx, req); err != nil {
			b.Fatal(err)
		}
	})
	whole := timePerOp(3, func() {
		token := ""
		for {
			resp, err := client.ListIdeas(ctx, &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageSize: 1000, PageToken: token})
			if err != nil {
				b.Fatal(err)
			}
			if token = resp.GetNextPageToken(); token == "" {
				return
			}
		}
	})
	b.ReportMetric(float64(index), "index-ns/op")
	b.ReportMetric(float64(scan)/float64(index), "scan/index")
	b.ReportMetric(float64(call), "grpc-ns/op")
	b.ReportMetric(float64(whole)/float64(call), "list-all/search")
	b.Logf("10 000 ideas, %d hits: ranking on the index %v/op, folding and matching every text %v/op (%.1fx); a page of hits over gRPC %v/op, the whole region over ListIdeas %v (%.1fx)",
		hits, index, scan, float64(scan)/float64(index), call, whole, float64(whole)/float64(call))
	for b.Loop() {
		x.searchText(q, all)
	}
}
