package funding_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// The benchmarks go through gRPC to the real services on each store, so
// they measure what a caller waits for, the store's share included.

func BenchmarkCreateSubproject(b *testing.B) {
	for _, be := range stack.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			p := e.mustProgramme(b, "p", 1_000_000_000_00, -1)
			ctx := e.admin(b, vb).Ctx(b)
			in := sampleSubproject(p.GetName(), 1000)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := e.subs.CreateSubproject(ctx, &fundingv1.CreateSubprojectRequest{Parent: "regions/" + vb, Subproject: in, RequestId: fmt.Sprintf("r-%d", i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUpdateSubproject(b *testing.B) {
	for _, be := range stack.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			p := e.mustProgramme(b, "p", 1_000_000_000_00, -1)
			sp := e.mustCreate(b, vb, sampleSubproject(p.GetName(), 1000))
			ctx := e.admin(b, vb).Ctx(b)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				out, err := e.subs.UpdateSubproject(ctx, &fundingv1.UpdateSubprojectRequest{
					Subproject: &fundingv1.Subproject{Name: sp.GetName(), Etag: sp.GetEtag(), Title: fmt.Sprintf("Titel %d", i)},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
				})
				if err != nil {
					b.Fatal(err)
				}
				sp = out
			}
		})
	}
}

// BenchmarkReserveRelease is one reservation and its release on the
// ledger: two commits of programme and allocation each.
func BenchmarkReserveRelease(b *testing.B) {
	for _, be := range stack.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			p := e.mustProgramme(b, "p", 1_000_000_000_00, -1)
			ctx := b.Context()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				sub := fmt.Sprintf("regions/vasterbotten/subprojects/bench%d", i)
				if _, err := e.sys.ReserveFunds(ctx, &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub, AmountOre: 100}); err != nil {
					b.Fatal(err)
				}
				if _, err := e.sys.ReleaseFunds(ctx, &fundingv1.ReleaseFundsRequest{Programme: p.GetName(), Subproject: sub}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
