package idea

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/trigram"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// syntheticIdeas are n ideas written from a care vocabulary, the same for
// every run.
func syntheticIdeas(n int) []*ideav1.Idea {
	words := strings.Fields(`patient vård sjukhus akuten remiss video besök kontroll KOL diabetes hjärta
		sensor fall natt boende personal schema läkemedel dosering påminnelse app journal provtagning
		hemmonitorering digital väntetid triage ambulans transport rehabilitering smärta barn narkos
		operation förråd logistik städning hygien infektion tolk språk anhörig utskrivning hemtjänst
		inlandet glesbygd resa distans telefon chatt egenvård blodtryck vikt syre andning sömn kost`)
	r := rand.New(rand.NewPCG(1, 2))
	text := func(k int) string {
		var b []string
		for range k {
			b = append(b, words[r.IntN(len(words))])
		}
		return strings.Join(b, " ")
	}
	out := make([]*ideav1.Idea, n)
	for i := range out {
		out[i] = &ideav1.Idea{
			Name: fmt.Sprintf("regions/uppsala/ideas/bench%06d", i), Title: text(6), Problem: text(30),
			Origin: ideav1.Origin_ORIGIN_STAFF, Stage: ideav1.Stage_STAGE_SUBMITTED, CreateTime: timestamppb.Now(),
		}
	}
	return out
}

// bruteForce is the baseline: compare the draft with every idea's trigram
// set, as a scan without an index would.
func bruteForce(sets []trigram.Set, query string) []float64 {
	q := trigram.Of(query)
	var sims []float64
	for _, set := range sets {
		if s := trigram.Similarity(q, set); s >= similarityThreshold {
			sims = append(sims, s)
		}
	}
	slices.Sort(sims)
	return sims
}

// BenchmarkFindSimilar10k measures the as-you-type search over 10 000 ideas:
// the trigram index against a brute-force scan in the same run, and the whole
// call over gRPC against a bare gRPC health check on the same connection.
func BenchmarkFindSimilar10k(b *testing.B) {
	ideas := syntheticIdeas(10_000)
	x := newSimIndex("uppsala")
	sets := make([]trigram.Set, len(ideas))
	for i, idea := range ideas {
		x.put(idea)
		sets[i] = trigram.Of(idea.GetTitle() + " " + idea.GetProblem())
	}
	query := ideas[4242].GetTitle() + " " + strings.Join(strings.Fields(ideas[4242].GetProblem())[:8], " ")

	index := timePerOp(200, func() { x.search("", query, similarResults) })
	scan := timePerOp(200, func() { bruteForce(sets, query) })

	// End to end: a real server on bbolt holding the 10 000 ideas.
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
	tok, err := signer.Sign(auth.Claims{Subject: "bench", Region: "uppsala", Roles: []auth.Role{auth.Submitter}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	client := ideav1.NewIdeaServiceClient(conn)
	req := &ideav1.FindSimilarIdeasRequest{Parent: "regions/uppsala", Title: ideas[4242].GetTitle(), Problem: ideas[4242].GetProblem()[:60]}
	if resp, err := client.FindSimilarIdeas(ctx, req); err != nil || len(resp.GetResults()) == 0 { // builds the index
		b.Fatalf("first FindSimilarIdeas: %v %v", resp, err)
	}
	call := timePerOp(200, func() {
		if _, err := client.FindSimilarIdeas(ctx, req); err != nil {
			b.Fatal(err)
		}
	})
	health := healthpb.NewHealthClient(conn)
	bare := timePerOp(200, func() {
		if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err)
		}
	})

	b.ReportMetric(float64(index), "index-ns/op")
	b.ReportMetric(float64(scan)/float64(index), "scan/index")
	b.ReportMetric(float64(call), "grpc-ns/op")
	b.ReportMetric(float64(call)/float64(bare), "grpc/bare-grpc")
	b.Logf("10 000 ideas: index %v/op, brute-force scan %v/op (%.1fx); FindSimilarIdeas over gRPC %v/op, bare gRPC call %v/op (%.1fx)",
		index, scan, float64(scan)/float64(index), call, bare, float64(call)/float64(bare))
	for b.Loop() {
		x.search("", query, similarResults)
	}
}

// timePerOp runs f n times and returns the mean time of one run. The
// comparisons run back to back in one process, so machine load hits both.
func timePerOp(n int, f func()) time.Duration {
	f() // warm up
	start := time.Now()
	for range n {
		f()
	}
	return time.Since(start) / time.Duration(n)
}

// loadIdeas writes ideas straight through the store, many at once so bbolt
// batches the commits.
func loadIdeas(b *testing.B, st store.Store, batch []*ideav1.Idea) {
	var wg sync.WaitGroup
	work := make(chan *ideav1.Idea)
	ideas := New(Config{Store: st}).ideas
	for range 32 {
		wg.Go(func() {
			for idea := range work {
				name, _ := parseIdeaName(idea.GetName())
				put, err := ideas.Put(&record{Ref: name.ref(), Owner: "bench", Msg: idea})
				if err != nil {
					b.Error(err)
					continue
				}
				if _, err := st.Commit(context.Background(), ns(name.Region), store.Write{
					Puts:   []store.Put{put},
					Events: []store.Event{{Actor: "bench", Action: "CreateIdea", Key: idea.GetName()}},
				}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, idea := range batch {
		work <- idea
	}
	close(work)
	wg.Wait()
}

func serveLoopback(b *testing.B, srv *rpc.Server) *grpc.ClientConn {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, lis, time.Second) }()
	b.Cleanup(func() { cancel(); <-done })
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}
