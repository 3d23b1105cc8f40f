package idea

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/testenv"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// BenchmarkSimilarBuild measures what a start-up costs the similarity
// index, on bbolt and on Redis, at 1k, 10k and 50k ideas of one region:
// the build (WarmSimilar: the store's records read in pages, decoded and
// indexed) in interleaved rounds of every size, and the heap the index of
// each size keeps per idea. The last lines print each build's min–max and
// how it grows with the ideas.
func BenchmarkSimilarBuild(b *testing.B) {
	sizes := []int{1000, 10_000, 50_000}
	const rounds = 3
	ideas := syntheticIdeas(sizes[len(sizes)-1])
	for i, idea := range ideas {
		idea.Proposal = ideas[(i+1)%len(ideas)].GetProblem()
		idea.CareArea = []string{"Lungmedicin", "Akutsjukvård", "Primärvård", "Psykiatri"}[i%4]
		idea.Tags = []string{"video", fmt.Sprint("t", i%3)}
	}
	backends := map[string]func(b *testing.B, region string) store.Store{
		"bbolt": func(b *testing.B, _ string) store.Store {
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "motor.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		},
		"redis": func(b *testing.B, _ string) store.Store {
			r := testenv.StartRedis(b)
			st, err := redisstore.Open(b.Context(), r.URL())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		},
	}
	for _, backend := range []string{"bbolt", "redis"} {
		b.Run(backend, func(b *testing.B) {
			// One store per size, each size its own region.
			regions := []string{"uppsala", "skane", "stockholm"}
			stores := make([]store.Store, len(sizes))
			for i, n := range sizes {
				stores[i] = backends[backend](b, regions[i])
				batch := make([]*ideav1.Idea, n)
				for j := range batch {
					batch[j] = proto.CloneOf(ideas[j])
					batch[j].Name = fmt.Sprintf("regions/%s/ideas/bench%06d", regions[i], j)
				}
				loadIdeas(b, stores[i], batch)
			}
			took := make([][]time.Duration, len(sizes))
			cpu := make([][]time.Duration, len(sizes))
			perIdea := make([]float64, len(sizes))
			for b.Loop() {
				for range rounds {
					for i, n := range sizes {
						served, _ := config.ParseServed(regions[i])
						srv := New(Config{Store: stores[i], Regions: served})
						runtime.GC()
						var before, after runtime.MemStats
						runtime.ReadMemStats(&before)
						start, startCPU := time.Now(), cpuTime()
						if err := srv.WarmSimilar(b.Context()); err != nil {
							b.Fatal(err)
						}
						took[i] = append(took[i], time.Since(start))
						cpu[i] = append(cpu[i], cpuTime()-startCPU)
						runtime.GC()
						runtime.ReadMemStats(&after)
						if got := len(srv.similar[regions[i]].ideas); got != n {
							b.Fatalf("%d ideas indexed, want %d", got, n)
						}
						perIdea[i] = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
						runtime.KeepAlive(srv)
					}
				}
			}
			for i, n := range sizes {
				slices.Sort(took[i])
				slices.Sort(cpu[i])
				lo, hi := took[i][0], took[i][len(took[i])-1]
				line := fmt.Sprintf("%s %d ideas: build %v [%v–%v], CPU %v [%v–%v], %.0f B per idea", backend, n, took[i][len(took[i])/2].Round(time.Millisecond),
					lo.Round(time.Millisecond), hi.Round(time.Millisecond), cpu[i][len(cpu[i])/2].Round(time.Millisecond),
					cpu[i][0].Round(time.Millisecond), cpu[i][len(cpu[i])-1].Round(time.Millisecond), perIdea[i])
				if i > 0 {
					line += fmt.Sprintf(", %.1f× the %d build for %d× the ideas", float64(took[i][len(took[i])/2])/float64(took[0][len(took[0])/2]), sizes[0], n/sizes[0])
				}
				b.Log(line)
			}
		})
	}
}
