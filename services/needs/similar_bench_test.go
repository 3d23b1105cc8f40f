package needs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
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
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// BenchmarkFindSimilarNeeds measures :findSimilar over a region of 1 000
// and of 10 000 needs, over gRPC (the trigram index built by a first call),
// against a bare gRPC call on the same connection.
func BenchmarkFindSimilarNeeds(b *testing.B) {
	words := strings.Fields(`fall natt boende personal sensor larm hemtjänst läkemedel dosering sår
		trycksår diabetes fot amputation kol andning syre hjärta svikt vikt ödem smärta barn
		väntetid akuten triage remiss journal tolk språk demens vandring utskrivning rehab`)
	r := rand.New(rand.NewPCG(3, 4))
	text := func(k int) string {
		var out []string
		for range k {
			out = append(out, words[r.IntN(len(words))])
		}
		return strings.Join(out, " ")
	}
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "motor.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			writer, err := New(Config{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			work := make(chan int)
			for range 32 {
				wg.Go(func() {
					for i := range work {
						need := &needsv1.Need{
							Name:    fmt.Sprintf("regions/uppsala/needs/bench%06d", i),
							Problem: text(6), Population: text(3), Outcome: text(4), Published: true,
							Status: needsv1.NeedStatus_NEED_STATUS_IDENTIFIED, CreateTime: timestamppb.Now(),
						}
						put, err := writer.needs.Put(&record{Ref: repo.Ref{Region: "uppsala", Key: fmt.Sprintf("need/bench%06d", i)}, Owner: "bench", Msg: need})
						if err != nil {
							b.Error(err)
							continue
						}
						if _, err := st.Commit(context.Background(), ns("uppsala"), store.Write{Puts: []store.Put{put}}); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for i := range n {
				work <- i
			}
			close(work)
			wg.Wait()

			signer, err := auth.GenerateDevKey()
			if err != nil {
				b.Fatal(err)
			}
			served, _ := config.ParseServed("uppsala")
			srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier()})
			s, err := New(Config{Store: st, Regions: served})
			if err != nil {
				b.Fatal(err)
			}
			needsv1.RegisterNeedsServiceServer(srv.GRPC, s)
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = srv.Serve(ctx, lis, time.Second) }()
			defer func() { cancel(); <-done }()
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			tok, err := signer.Sign(auth.Claims{Subject: "adv", Region: "uppsala", Roles: []auth.Role{auth.Advisor}}, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			cctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
			client := needsv1.NewNeedsServiceClient(conn)
			req := &needsv1.FindSimilarNeedsRequest{Parent: "regions/uppsala", Text: text(8)}
			find := func() {
				if _, err := client.FindSimilarNeeds(cctx, req); err != nil {
					b.Fatal(err)
				}
			}
			health := healthpb.NewHealthClient(conn)
			bare := func() {
				if _, err := health.Check(cctx, &healthpb.HealthCheckRequest{}); err != nil {
					b.Fatal(err)
				}
			}
			perOp := func(k int, f func()) time.Duration {
				f()
				start := time.Now()
				for range k {
					f()
				}
				return time.Since(start) / time.Duration(k)
			}
			call, base := perOp(5, find), perOp(200, bare)
			b.ReportMetric(float64(call), "find-ns/op")
			b.ReportMetric(float64(call)/float64(base), "find/bare-grpc")
			b.Logf("%d needs: FindSimilarNeeds %v/op, bare gRPC call %v/op (%.0fx)", n, call, base, float64(call)/float64(base))
			for b.Loop() {
				find()
			}
		})
	}
}
