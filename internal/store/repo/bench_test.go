package repo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	"github.com/innovationsmotorer/motor/internal/testenv"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// BenchmarkUpdate times one change of a need three ways, interleaved in one
// loop so that load from other processes hits all alike:
//
//   - raw: the store alone, Get then Commit of bytes already encoded, the
//     floor any change costs;
//   - replaced: the read-modify-write the services wrote themselves before
//     the repository (protojson in a JSON wrapper, decoded and encoded);
//   - repo: Repo.Update.
//
// It reports repo-x-raw (the repository's overhead over the store) and
// repo-x-replaced (below 1.1: no more than 10 % slower than the code it
// replaced; below 1: faster). Absolute times depend on the disk and the
// machine's load; the ratios are what to watch.
func BenchmarkUpdate(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"bbolt", func(b *testing.B) store.Store {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"redis", func(b *testing.B) store.Store {
			r := testenv.StartRedis(b)
			s, err := redisstore.Open(b.Context(), r.URL())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			benchUpdate(b, be.open(b))
		})
	}
}

func sampleNeed(id string) *needsv1.Need {
	return &needsv1.Need{
		Name:    "regions/uppsala/needs/" + id,
		Problem: "upptäcka fall nattetid", Population: "boende på särskilda boenden",
		Outcome:   "korta tiden en person ligger på golvet",
		Statement: "A way to upptäcka fall nattetid in boende på särskilda boenden in order to korta tiden en person ligger på golvet",
		CareUnit:  "Äldreomsorg Umeå", ReportedBy: ideav1.Origin_ORIGIN_STAFF,
		Evidence:   "Avvikelserapporter 2024: 41 fall nattetid, varav 12 upptäcktes efter mer än en timme.",
		Status:     needsv1.NeedStatus_NEED_STATUS_VALIDATED,
		CreateTime: timestamppb.Now(), UpdateTime: timestamppb.Now(),
		Links: []string{"regions/uppsala/ideas/a1", "regions/uppsala/offers/o1"},
	}
}

func index(n *needsv1.Need) []store.IndexEntry {
	return []store.IndexEntry{
		{Index: "created", Term: n.GetCreateTime().AsTime().Format(time.RFC3339Nano)},
		{Index: "status_created", Term: n.GetStatus().String() + "/" + n.GetCreateTime().AsTime().Format(time.RFC3339Nano)},
	}
}

// legacyStored is the wrapper the needs service used to store.
type legacyStored struct {
	Owner      string          `json:"owner"`
	Screenings int             `json:"screenings,omitempty"`
	Need       json.RawMessage `json:"need"`
}

// replacedUpdate is the services' own read-modify-write before the
// repository, as the needs service wrote it.
func replacedUpdate(ctx context.Context, s store.Store, ns store.Namespace, key string, change func(*needsv1.Need)) error {
	rec, err := s.Get(ctx, ns, key)
	if err != nil {
		return err
	}
	var st legacyStored
	if err := json.Unmarshal(rec.Value, &st); err != nil {
		return err
	}
	need := &needsv1.Need{}
	if err := protojson.Unmarshal(st.Need, need); err != nil {
		return err
	}
	need.Etag = strconv.FormatInt(rec.Version, 10)
	change(need)
	need.UpdateTime = timestamppb.Now()
	clean := proto.Clone(need).(*needsv1.Need)
	clean.Etag = ""
	body, err := protojson.Marshal(clean)
	if err != nil {
		return err
	}
	value, err := json.Marshal(legacyStored{Owner: st.Owner, Screenings: st.Screenings, Need: body})
	if err != nil {
		return err
	}
	_, err = s.Commit(ctx, ns, store.Write{
		Puts: []store.Put{{Key: key, Value: value, Version: rec.Version, Index: index(need)}},
		Events: []store.Event{{Time: time.Now(), Actor: "bench", Action: "UpdateNeed", Key: need.GetName(),
			EtagBefore: need.GetEtag(), EtagAfter: strconv.FormatInt(rec.Version+1, 10)}},
	})
	return err
}

func benchUpdate(b *testing.B, s store.Store) {
	ctx := context.Background()
	ns := store.Namespace{Service: "needs", Region: "uppsala"}
	r := repo.New(repo.Config[*needsv1.Need]{
		Store: s, Service: ns.Service, Domain: errs.Domain("needs.motor"), Kind: "need",
		New:   func() *needsv1.Need { return &needsv1.Need{} },
		Index: func(e *repo.Entry[*needsv1.Need]) []store.IndexEntry { return index(e.Msg) },
	})
	// One record per way, so no way's writes conflict with another's.
	rawNeed := sampleNeed("raw")
	rawBody, _ := protojson.Marshal(rawNeed)
	rawValue, _ := json.Marshal(legacyStored{Owner: "bench", Need: rawBody})
	if _, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "need/raw", Value: rawValue, Index: index(rawNeed)}}}); err != nil {
		b.Fatal(err)
	}
	oldNeed := sampleNeed("old")
	oldBody, _ := protojson.Marshal(oldNeed)
	oldValue, _ := json.Marshal(legacyStored{Owner: "bench", Need: oldBody})
	if _, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "need/old", Value: oldValue, Index: index(oldNeed)}}}); err != nil {
		b.Fatal(err)
	}
	ref := repo.Ref{Region: ns.Region, Key: "need/repo", Name: "regions/uppsala/needs/repo"}
	if _, _, err := r.Create(ctx, &repo.Entry[*needsv1.Need]{Ref: ref, Msg: sampleNeed("repo"), Owner: "bench"}, repo.Create{Actor: "bench", Action: "CreateNeed"}); err != nil {
		b.Fatal(err)
	}

	var raw, replaced, viaRepo time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		unit := fmt.Sprintf("unit %d", i)

		start := time.Now()
		rec, err := s.Get(ctx, ns, "need/raw")
		if err == nil {
			_, err = s.Commit(ctx, ns, store.Write{
				Puts:   []store.Put{{Key: "need/raw", Value: rawValue, Version: rec.Version, Index: index(rawNeed)}},
				Events: []store.Event{{Time: time.Now(), Actor: "bench", Action: "UpdateNeed", Key: rawNeed.GetName()}},
			})
		}
		raw += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}

		start = time.Now()
		err = replacedUpdate(ctx, s, ns, "need/old", func(n *needsv1.Need) { n.CareUnit = unit })
		replaced += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}

		start = time.Now()
		_, _, err = r.Update(ctx, ref, "", "bench", func(e *repo.Entry[*needsv1.Need], _ time.Time) (repo.Change, error) {
			e.Msg.CareUnit = unit
			return repo.Change{Action: "UpdateNeed"}, nil
		})
		viaRepo += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(viaRepo.Nanoseconds())/n, "repo-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-ns/op")
	b.ReportMetric(float64(replaced.Nanoseconds())/n, "replaced-ns/op")
	b.ReportMetric(float64(viaRepo)/float64(raw), "repo-x-raw")
	b.ReportMetric(float64(viaRepo)/float64(replaced), "repo-x-replaced")
}
