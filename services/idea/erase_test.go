package idea_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/testenv"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

// rawBackend is a store plus a way to read every byte it holds, bypassing
// the store's own API.
type rawBackend struct {
	name string
	open func(t *testing.T) (store.Store, func(t *testing.T) [][]byte)
}

func rawBackends() []rawBackend {
	return []rawBackend{
		{"bbolt", func(t *testing.T) (store.Store, func(t *testing.T) [][]byte) {
			path := filepath.Join(t.TempDir(), "motor.db")
			st, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return st, func(t *testing.T) [][]byte {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var all [][]byte
				var walk func(b *bolt.Bucket)
				walk = func(b *bolt.Bucket) {
					_ = b.ForEach(func(k, v []byte) error {
						all = append(all, bytes.Clone(k), bytes.Clone(v))
						if v == nil {
							walk(b.Bucket(k))
						}
						return nil
					})
				}
				_ = db.View(func(tx *bolt.Tx) error {
					return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
						all = append(all, bytes.Clone(name))
						walk(b)
						return nil
					})
				})
				return all
			}
		}},
		{"redis", func(t *testing.T) (store.Store, func(t *testing.T) [][]byte) {
			r := testenv.StartRedis(t)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			st, err := redisstore.Open(ctx, r.URL())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st, func(t *testing.T) [][]byte {
				rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
				defer rdb.Close()
				ctx := t.Context()
				var all [][]byte
				keys, err := rdb.Keys(ctx, "*").Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					all = append(all, []byte(k))
					switch rdb.Type(ctx, k).Val() {
					case "string":
						all = append(all, []byte(rdb.Get(ctx, k).Val()))
					case "hash":
						for f, v := range rdb.HGetAll(ctx, k).Val() {
							all = append(all, []byte(f), []byte(v))
						}
					case "list":
						for _, v := range rdb.LRange(ctx, k, 0, -1).Val() {
							all = append(all, []byte(v))
						}
					case "zset":
						for _, v := range rdb.ZRange(ctx, k, 0, -1).Val() {
							all = append(all, []byte(v))
						}
					case "set":
						for _, v := range rdb.SMembers(ctx, k).Val() {
							all = append(all, []byte(v))
						}
					default:
						t.Errorf("key %s of unexpected type", k)
					}
				}
				return all
			}
		}},
	}
}

// TestEraseSubmitter_NoByteLeft: after erasure, no stored byte of the idea,
// its history or the audit log holds the submitter's name, e-mail, phone or
// subject, and the idea itself remains.
func TestEraseSubmitter_NoByteLeft(t *testing.T) {
	for _, b := range rawBackends() {
		t.Run(b.name, func(t *testing.T) {
			st, raw := b.open(t)
			served, _ := config.ParseServed("vasterbotten")
			env := stack.Start(t, st, func(s *grpc.Server) {
				ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
			})
			client := ideav1.NewIdeaServiceClient(env.Conn)
			const subject = "patient-7f3a9c"
			greta := env.Token(t, auth.Claims{Subject: subject, Name: "Greta Lindqvist", Region: "vasterbotten", Roles: []auth.Role{auth.Submitter}})
			gretaCtx := stack.Caller{Token: greta}.Ctx(t)
			adv := env.As(t, auth.Advisor, "vasterbotten")

			in := sampleIdea()
			in.Submitter.Workplace = "Lycksele lasarett"
			first, err := client.CreateIdea(gretaCtx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: in, RequestId: "form-1"})
			if err != nil {
				t.Fatal(err)
			}
			second, err := client.CreateIdea(gretaCtx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()})
			if err != nil {
				t.Fatal(err)
			}
			moved, err := client.TransitionIdea(adv.Ctx(t), &ideav1.TransitionIdeaRequest{Name: first.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: first.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.TransitionIdea(gretaCtx, &ideav1.TransitionIdeaRequest{Name: first.GetName(), Stage: ideav1.Stage_STAGE_WITHDRAWN, Etag: moved.GetEtag()}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.EraseSubmitter(env.As(t, auth.Submitter, "vasterbotten", "someone-else").Ctx(t), &ideav1.EraseSubmitterRequest{Name: first.GetName()}); status.Code(err) != codes.NotFound {
				t.Errorf("another submitter erases: %v, want NotFound", err)
			}

			// Greta erases herself from the first idea; an admin erases her from the second.
			if _, err := client.EraseSubmitter(gretaCtx, &ideav1.EraseSubmitterRequest{Name: first.GetName()}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.EraseSubmitter(env.As(t, auth.RegionAdmin, "vasterbotten").Ctx(t), &ideav1.EraseSubmitterRequest{Name: second.GetName()}); err != nil {
				t.Fatal(err)
			}
			kept, err := client.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: first.GetName()})
			if err != nil || kept.GetTitle() != in.GetTitle() || kept.GetSubmitter() != nil || kept.GetStage() != ideav1.Stage_STAGE_WITHDRAWN {
				t.Fatalf("idea after erasure: %v %v", kept, err)
			}
			hist, err := client.ListIdeaHistory(adv.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: first.GetName()})
			if err != nil || len(hist.GetEntries()) != 3 {
				t.Fatalf("history after erasure: %v %v", hist, err)
			}

			all := raw(t)
			if len(all) < 10 {
				t.Fatalf("raw scan found only %d items: the scan is broken", len(all))
			}
			needles := []string{"Greta", "Lindqvist", "greta@example.se", "070-123 45 67", "Lycksele lasarett", subject}
			for _, item := range all {
				for _, n := range needles {
					if bytes.Contains(item, []byte(n)) {
						t.Errorf("stored bytes still hold %q: %.200q", n, item)
					}
				}
			}
			// The scan does find what it looks for: the advisor's subject is kept.
			found := false
			for _, item := range all {
				found = found || bytes.Contains(item, []byte("advisor-vasterbotten"))
			}
			if !found {
				t.Error("raw scan did not find the advisor's subject in the audit log: it would miss the submitter's too")
			}
		})
	}
}

// TestEraseSubmitter_LeavesRedisFiles: Redis keeps every write in its
// append-only file until the file is rewritten, so an erasure has the
// server rewrite it; afterwards no file in Redis's folder holds the
// submitter's data, while the idea is still there.
func TestEraseSubmitter_LeavesRedisFiles(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := redisstore.Open(ctx, r.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	served, _ := config.ParseServed("vasterbotten")
	env := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
	})
	client := ideav1.NewIdeaServiceClient(env.Conn)
	greta := stack.Caller{Token: env.Token(t, auth.Claims{Subject: "patient-7f3a9c", Name: "Greta Lindqvist", Region: "vasterbotten", Roles: []auth.Role{auth.Submitter}})}
	created, err := client.CreateIdea(greta.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()})
	if err != nil {
		t.Fatal(err)
	}
	files := func() []byte {
		t.Helper()
		var all []byte
		paths, _ := filepath.Glob(filepath.Join(r.Dir, "appendonlydir", "*"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	rewrites := func() (done int, running bool) {
		info := rdb.Info(t.Context(), "persistence").Val()
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "aof_rewrites:"); ok {
				done, _ = strconv.Atoi(v)
			}
			running = running || line == "aof_rewrite_in_progress:1" || line == "aof_rewrite_scheduled:1"
		}
		return done, running
	}
	// Uncompressed snapshots, so the scan below reads every string as it is.
	if err := rdb.ConfigSet(t.Context(), "rdbcompression", "no").Err(); err != nil {
		t.Fatal(err)
	}
	before, _ := rewrites()
	if !bytes.Contains(files(), []byte("Greta")) {
		t.Fatal("the append-only file does not hold the submitter's name before erasure: the scan is broken")
	}

	if _, err := client.EraseSubmitter(greta.Ctx(t), &ideav1.EraseSubmitterRequest{Name: created.GetName()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, running := rewrites()
		if done > before && !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no append-only file rewrite after the erasure (%d rewrites, running %v)", done, running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	all := files()
	for _, n := range []string{"Greta", "Lindqvist", "greta@example.se", "070-123 45 67", "patient-7f3a9c"} {
		if bytes.Contains(all, []byte(n)) {
			t.Errorf("Redis's files still hold %q after the erasure", n)
		}
	}
	if !bytes.Contains(all, []byte(sampleIdea().GetTitle())) {
		t.Error("Redis's files lost the idea itself")
	}
}
