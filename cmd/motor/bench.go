package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/perf"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// benchOptions is the command line of `motor bench`.
type benchOptions struct {
	load     perf.Load
	rounds   int
	only     map[string]bool
	sizes    []int
	jsonPath string
	redis    bool
	keep     string
	profile  string
	block    string
	memory   string
}

func parseBench(args []string, stderr io.Writer) (benchOptions, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := fs.Int("c", 50, "concurrent workers of the generator")
	rate := fs.Float64("rate", 0, "open loop: requests per second (0: closed loop with -c workers)")
	rounds := fs.Int("rounds", 5, "rounds per side, interleaved baseline, subject, baseline, ...")
	round := fs.Duration("round", time.Second, "length of one round")
	only := fs.String("only", "", "comma list of scenario prefixes to run (s1,s2,s3,dashboard,list,similar); default all")
	sizes := fs.String("sizes", "1000,10000", "idea counts of the two-term list scenario (the ratio is last over first)")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file (- for stdout)")
	redis := fs.Bool("redis", true, "run the Redis scenario (needs redis-server on PATH)")
	keep := fs.String("data", "", "data folder to use (default: a temporary one, removed after)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (both sides) to this file")
	block := fs.String("blockprofile", "", "write a profile of where goroutines waited (channels, locks, the store's fsync batches) to this file")
	memory := fs.String("memprofile", "", "write a profile of where the run allocated (both sides; go tool pprof -sample_index=alloc_objects) to this file")
	if err := fs.Parse(args); err != nil {
		return benchOptions{}, err
	}
	o := benchOptions{
		load:   perf.Load{Concurrency: *c, Rate: *rate, Duration: *round},
		rounds: *rounds, jsonPath: *jsonPath, redis: *redis, keep: *keep, profile: *profile, block: *block, memory: *memory, only: map[string]bool{},
	}
	var problems []string
	if *c < 1 {
		problems = append(problems, "-c must be at least 1")
	}
	if *rounds < 1 {
		problems = append(problems, "-rounds must be at least 1")
	}
	if *round <= 0 {
		problems = append(problems, "-round must be positive")
	}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.only[s] = true
		}
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			problems = append(problems, fmt.Sprintf("-sizes: %q is not a positive count", s))
			continue
		}
		o.sizes = append(o.sizes, n)
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "; "))
	}
	return o, nil
}

func (o benchOptions) runs(name string) bool {
	if len(o.only) == 0 {
		return true
	}
	for p := range o.only {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// bench measures the real services against bare baselines on this machine
// (see README "Performance"): the same in-process generator drives both in
// interleaved rounds and every figure is a ratio, so the run says how much
// Motor costs above what its libraries cost, whatever the machine.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseBench(args, stderr)
	if err != nil {
		return err
	}
	data := o.keep
	if data == "" {
		if data, err = os.MkdirTemp("", "motor-bench-"); err != nil {
			return fmt.Errorf("os.MkdirTemp: %w", err)
		}
		defer os.RemoveAll(data)
	}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			return fmt.Errorf("os.Create: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("pprof.StartCPUProfile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.block != "" {
		// Every wait longer than 10 µs is sampled: enough to see where a
		// call spends its time off the CPU, cheap enough to leave on.
		runtime.SetBlockProfileRate(10_000)
		defer func() {
			runtime.SetBlockProfileRate(0)
			if f, err := os.Create(o.block); err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if o.memory != "" {
		// The allocation profile counts from the start of the process; it
		// is written when the run ends, so it holds both sides' rounds.
		defer func() {
			if f, err := os.Create(o.memory); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	rep := perf.Report{Concurrency: o.load.Concurrency, Rate: o.load.Rate, Rounds: o.rounds, RoundMs: o.load.Duration.Milliseconds(),
		CPUs: runtime.GOMAXPROCS(0), Started: time.Now().UTC(), Note: perf.Note}
	add := func(r perf.Result) {
		rep.Results = append(rep.Results, r)
		fmt.Fprintf(stderr, "bench: %s: ratio %.3f [%.3f–%.3f]\n", r.Scenario, r.Median, r.Min, r.Max)
		for _, f := range []perf.Figures{r.Baseline, r.Subject} {
			if f.FirstErr != "" {
				fmt.Fprintf(stderr, "bench: %s: %s: %d errors, first: %s\n", r.Scenario, f.Name, f.Errors, f.FirstErr)
			}
		}
	}

	m, err := startBenchMotor(ctx, filepath.Join(data, "motor"), "bbolt")
	if err != nil {
		return err
	}
	defer func() { m.stop() }()
	foot := func(f perf.Footprint) { rep.Footprint = append(rep.Footprint, f) }
	if err := boltScenarios(ctx, o, m, data, add, foot); err != nil {
		return err
	}
	if o.runs("s3-redis") && o.redis {
		if err := redisScenarios(ctx, o, data, add); err != nil {
			return err
		}
	}

	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	switch o.jsonPath {
	case "":
	case "-":
		return rep.WriteJSON(stdout)
	default:
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonPath, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("os.WriteFile: %w", err)
		}
	}
	return nil
}

// benchMotor is `motor serve` running in this process, all 21 regions, the
// gateway included, with dev tokens.
type benchMotor struct {
	data, store string
	grpc, http  string
	signer      *auth.Signer
	conn        *grpc.ClientConn
	cancel      context.CancelFunc
	done        chan error
}

func startBenchMotor(ctx context.Context, data, store string) (*benchMotor, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("os.MkdirAll: %w", err)
	}
	m := &benchMotor{data: data, store: store}
	return m, m.start(ctx)
}

func (m *benchMotor) start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	m.cancel, m.done = cancel, make(chan error, 1)
	// Admission limits off: the bench measures the cost of a call, and
	// one caller at full speed is what the limits are there to refuse.
	cfg := filepath.Join(m.data, "bench.json")
	limits := `{"name":"bench","limits":{"ratePerSecond":1e9,"burst":1000000000,"maxInFlightHTTP":1000000,"maxInFlightGRPC":1000000}}`
	if err := os.WriteFile(cfg, []byte(limits), 0o600); err != nil {
		cancel()
		return fmt.Errorf("os.WriteFile: %w", err)
	}
	pr, pw := io.Pipe()
	args := []string{"-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0", "-admin", "", "-data", m.data, "-demo=false",
		"-regions", strings.Join(config.RegionIDs(), ","), "-store", m.store, "-config", cfg}
	go func() {
		err := serve(ctx, args, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("motor stopped: %v", err))
		m.done <- err
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "motor: gateway "); ok {
			m.http = strings.Fields(rest)[0]
		}
		if _, rest, ok := strings.Cut(line, "motor: gRPC services "); ok {
			if f := strings.Fields(rest); len(f) >= 3 {
				m.grpc = f[2]
			}
		}
		if line == "motor: ready" {
			break
		}
	}
	if m.grpc == "" || m.http == "" {
		cancel()
		return fmt.Errorf("motor did not start: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	signer, err := auth.LoadOrCreateDevKey(m.data)
	if err != nil {
		cancel()
		return fmt.Errorf("auth.LoadOrCreateDevKey: %w", err)
	}
	m.signer = signer
	conn, err := grpc.NewClient(m.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		return fmt.Errorf("grpc.NewClient: %w", err)
	}
	m.conn = conn
	return nil
}

func (m *benchMotor) stop() error {
	if m.cancel == nil {
		return nil
	}
	m.conn.Close()
	m.cancel()
	m.cancel = nil
	return <-m.done
}

func (m *benchMotor) restart(ctx context.Context) error {
	if err := m.stop(); err != nil {
		return err
	}
	return m.start(ctx)
}

func (m *benchMotor) token(sub, region string, roles ...auth.Role) (string, error) {
	return m.signer.Sign(auth.Claims{Subject: sub, Name: "Bench " + sub, Region: region, Roles: roles}, time.Hour)
}

// bearer is a per-call credential carrying a fixed token over plain text.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

func benchIdea(i int) *ideav1.Idea {
	areas := []string{"Lungmedicin", "Akutsjukvård", "Primärvård", "Psykiatri"}
	// Ten ideas, the first ten of the care area Lungmedicin, come from
	// patients, however many are seeded: the rare term of the selective
	// two-term list, whose page holds the same ten ideas at every size.
	origin := ideav1.Origin_ORIGIN_STAFF
	if i%4 == 0 && i <= 40 {
		origin = ideav1.Origin_ORIGIN_PATIENT
	}
	return &ideav1.Idea{
		Title:    fmt.Sprintf("Videobesök för kontroller %d i inlandet", i),
		Problem:  fmt.Sprintf("Patienter reser långt till kontroller som mest består av samtal; fall %d visar att värden redan mäts hemma.", i),
		Proposal: "Ersätt varannan kontroll med videobesök där patienten skickar in hemmätta värden i förväg.",
		Origin:   origin, CareArea: areas[i%len(areas)], Tags: []string{"video", fmt.Sprintf("t%d", i%3)},
		Consent:   &ideav1.Consent{Contact: true, StorePersonalData: true},
		Submitter: &ideav1.Submitter{DisplayName: "Bench Person", Email: "bench@example.se"},
	}
}

// seed creates n ideas in region with c writers.
func seed(ctx context.Context, ideas ideav1.IdeaServiceClient, cred grpc.CallOption, region string, n, c int) error {
	var next atomic.Int64
	errc := make(chan error, c)
	for range c {
		go func() {
			for {
				i := int(next.Add(1))
				if i > n {
					errc <- nil
					return
				}
				if _, err := ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/" + region, Idea: benchIdea(i),
					RequestId: fmt.Sprintf("seed-%s-%d", region, i)}, cred); err != nil {
					errc <- fmt.Errorf("seed %s idea %d: %w", region, i, err)
					return
				}
			}
		}()
	}
	var first error
	for range c {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func boltScenarios(ctx context.Context, o benchOptions, m *benchMotor, data string, add func(perf.Result), foot func(perf.Footprint)) error {
	advTok, err := m.token("bench-advisor", "vasterbotten", auth.Advisor)
	if err != nil {
		return err
	}
	adv := grpc.PerRPCCredentials(bearer(advTok))
	ideas := ideav1.NewIdeaServiceClient(m.conn)
	idea, err := ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: benchIdea(0), RequestId: "bench-s1"}, adv)
	if err != nil {
		return fmt.Errorf("CreateIdea: %w", err)
	}

	if o.runs("s1") {
		base, closeBase, err := bareGRPC(idea)
		if err != nil {
			return err
		}
		bare := ideav1.NewIdeaServiceClient(base)
		add(perf.Compare(ctx, perf.Scenario{Name: "S1 gRPC GetIdea", Metric: perf.Throughput,
			Baseline: perf.Side{Name: "bare grpc-go", Op: func(ctx context.Context) error {
				_, err := bare.GetIdea(ctx, &ideav1.GetIdeaRequest{Name: idea.GetName()}, adv)
				return err
			}},
			Subject: perf.Side{Name: "motor gRPC", Op: func(ctx context.Context) error {
				_, err := ideas.GetIdea(ctx, &ideav1.GetIdeaRequest{Name: idea.GetName()}, adv)
				return err
			}},
		}, o.load, o.rounds))
		closeBase()
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
	if o.runs("s2") {
		url := m.http + "/v1/" + idea.GetName()
		body, err := httpGet(ctx, client, url, advTok)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			return fmt.Errorf("json.Unmarshal: %w", err)
		}
		baseURL, closeBase, err := bareHTTP(doc)
		if err != nil {
			return err
		}
		add(perf.Compare(ctx, perf.Scenario{Name: "S2 REST GET idea", Metric: perf.Throughput,
			Baseline: perf.Side{Name: "net/http + encoding/json", Op: func(ctx context.Context) error {
				_, err := httpGet(ctx, client, baseURL, advTok)
				return err
			}},
			Subject: perf.Side{Name: "motor gateway", Op: func(ctx context.Context) error {
				_, err := httpGet(ctx, client, url, advTok)
				return err
			}},
		}, o.load, o.rounds))
		closeBase()
	}

	if o.runs("s3-bbolt") {
		value, _ := proto.Marshal(idea)
		db, err := bolt.Open(filepath.Join(data, "raw.db"), 0o600, nil)
		if err == nil {
			db.MaxBatchDelay = time.Millisecond // the baseline S3 is defined against (README)
		}
		if err != nil {
			return fmt.Errorf("bolt.Open: %w", err)
		}
		var seq atomic.Int64
		add(perf.Compare(ctx, perf.Scenario{Name: "S3 bbolt create", Metric: perf.Throughput,
			Baseline: rawBatch(db, value, &seq),
			Subject:  createSide(ideas, adv, "vasterbotten", &seq),
		}, o.load, o.rounds))
		db.Close()
	}

	if o.runs("dashboard") {
		coordTok, err := m.token("bench-coordinator", auth.NationalRegion, auth.Coordinator)
		if err != nil {
			return err
		}
		coord := grpc.PerRPCCredentials(bearer(coordTok))
		dash := coordinatorv1.NewCoordinatorServiceClient(m.conn)
		regions := config.RegionIDs()
		var n atomic.Int64
		// The baseline is one region's figures asked as the dashboard asks a
		// region for them (GetRegionFigures, with the coordinator's token), a
		// different region each time, so its p99 is the slowest region's:
		// the dashboard cannot be quicker than its slowest region, and the
		// ratio says what gathering every region adds. (One GetIdeaStats
		// alone, the baseline before, was a quarter of a region's figures.)
		figures := coordinatorv1.NewRegionFiguresServiceClient(m.conn)
		add(perf.Compare(ctx, perf.Scenario{Name: fmt.Sprintf("dashboard %d regions", len(regions)), Metric: perf.P99,
			Baseline: perf.Side{Name: "one region's figures", Op: func(ctx context.Context) error {
				_, err := figures.GetRegionFigures(ctx, &coordinatorv1.GetRegionFiguresRequest{Name: "regions/" + regions[int(n.Add(1))%len(regions)] + "/figures"}, coord)
				return err
			}},
			Subject: perf.Side{Name: "GetDashboard", Op: func(ctx context.Context) error {
				d, err := dash.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{}, coord)
				if err == nil && d.GetPartial() {
					err = errors.New("dashboard partial")
				}
				return err
			}},
		}, perf.Load{Concurrency: min(o.load.Concurrency, 8), Duration: o.load.Duration, Rate: o.load.Rate}, o.rounds))
	}

	// Two-term lists and the cold similarity index on regions seeded with
	// the given sizes (each size its own region, so they do not mix).
	if (o.runs("list") || o.runs("similar")) && len(o.sizes) > 0 {
		sizeRegions := []string{"uppsala", "skane", "stockholm", "dalarna"}
		if len(o.sizes) > len(sizeRegions) {
			return fmt.Errorf("-sizes: at most %d sizes", len(sizeRegions))
		}
		before, seeded := measureUsage(m.data), 0
		for i, n := range o.sizes {
			tok, err := m.token("bench-seed", sizeRegions[i], auth.Advisor)
			if err != nil {
				return err
			}
			cred := grpc.PerRPCCredentials(bearer(tok))
			if err := seed(ctx, ideas, cred, sizeRegions[i], n, 16); err != nil {
				return err
			}
			// One similarity search, so the region's index holds its ideas
			// when the footprint is taken.
			if _, err := ideas.FindSimilarIdeas(ctx, &ideav1.FindSimilarIdeasRequest{Parent: "regions/" + sizeRegions[i], Title: "Videobesök"}, cred); err != nil {
				return fmt.Errorf("FindSimilarIdeas: %w", err)
			}
			seeded += n
		}
		foot(footprint("bbolt", seeded, before, measureUsage(m.data)))
		first, last := sizeRegions[0], sizeRegions[len(o.sizes)-1]
		listOp := func(region, tok, filter string) perf.Op {
			cred := grpc.PerRPCCredentials(bearer(tok))
			return func(ctx context.Context) error {
				_, err := ideas.ListIdeas(ctx, &ideav1.ListIdeasRequest{Parent: "regions/" + region, PageSize: 20, Filter: filter}, cred)
				return err
			}
		}
		lastTok, err := m.token("bench-advisor-"+last, last, auth.Advisor)
		if err != nil {
			return err
		}
		firstTok, err := m.token("bench-advisor-"+first, first, auth.Advisor)
		if err != nil {
			return err
		}
		// Two lists: both terms common (every seeded idea is SUBMITTED), and
		// a common term with a rare one (ten ideas from patients at every
		// size, a quarter of all in the care area), where the first term's
		// index holds many records the second rejects.
		for _, l := range []struct{ name, filter string }{
			{"two-term List", `stage = "STAGE_SUBMITTED" AND care_area = "Psykiatri"`},
			{"selective two-term List", `care_area = "Lungmedicin" AND origin = "ORIGIN_PATIENT"`},
		} {
			if !o.runs("list") {
				break
			}
			add(perf.Compare(ctx, perf.Scenario{Name: fmt.Sprintf("%s %d vs %d", l.name, o.sizes[len(o.sizes)-1], o.sizes[0]), Metric: perf.P50,
				Baseline: perf.Side{Name: fmt.Sprintf("%d ideas", o.sizes[0]), Op: listOp(first, firstTok, l.filter)},
				Subject:  perf.Side{Name: fmt.Sprintf("%d ideas", o.sizes[len(o.sizes)-1]), Op: listOp(last, lastTok, l.filter)},
			}, perf.Load{Concurrency: min(o.load.Concurrency, 4), Duration: o.load.Duration, Rate: o.load.Rate}, o.rounds))
		}
		if o.runs("similar") {
			lastAdv := grpc.PerRPCCredentials(bearer(lastTok))
			similar := func(ctx context.Context) error {
				_, err := ideav1.NewIdeaServiceClient(m.conn).FindSimilarIdeas(ctx, &ideav1.FindSimilarIdeasRequest{Parent: "regions/" + last,
					Title: "Videobesök för kontroller", Problem: "Patienter reser långt till kontroller"}, lastAdv)
				return err
			}
			// The subject is the first call after a restart; the baseline
			// the same call once the index is warm.
			cold := perf.Load{Concurrency: 1, Requests: 1, Duration: time.Minute}
			add(perf.Compare(ctx, perf.Scenario{Name: fmt.Sprintf("cold findSimilar %d", o.sizes[len(o.sizes)-1]), Metric: perf.P50,
				Baseline: perf.Side{Name: "warm findSimilar", Op: similar, Load: perf.Load{Concurrency: 1, Requests: 20, Duration: o.load.Duration}},
				Subject:  perf.Side{Name: "first after restart", Op: similar, Load: cold},
				Before: func(ctx context.Context) error {
					if err := m.restart(ctx); err != nil {
						return err
					}
					ideas = ideav1.NewIdeaServiceClient(m.conn)
					return nil
				},
			}, o.load, o.rounds))
		}
	}
	return nil
}

func createSide(ideas ideav1.IdeaServiceClient, cred grpc.CallOption, region string, seq *atomic.Int64) perf.Side {
	return perf.Side{Name: "motor gRPC CreateIdea", Op: func(ctx context.Context) error {
		i := seq.Add(1)
		_, err := ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/" + region, Idea: benchIdea(int(i)),
			RequestId: fmt.Sprintf("bench-create-%d", i)}, cred)
		return err
	}}
}

func rawBatch(db *bolt.DB, value []byte, seq *atomic.Int64) perf.Side {
	bucket := []byte("raw")
	return perf.Side{Name: fmt.Sprintf("bbolt Batch (%d B values)", len(value)), Op: func(context.Context) error {
		key := binary.BigEndian.AppendUint64(nil, uint64(seq.Add(1)))
		return db.Batch(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			return b.Put(key, value)
		})
	}}
}

func httpGet(ctx context.Context, client *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	return body, nil
}

// bareIdeas answers GetIdea with one fixed message: the baseline of S1.
type bareIdeas struct {
	ideav1.UnimplementedIdeaServiceServer
	idea *ideav1.Idea
}

func (b bareIdeas) GetIdea(context.Context, *ideav1.GetIdeaRequest) (*ideav1.Idea, error) {
	return b.idea, nil
}

func bareGRPC(idea *ideav1.Idea) (*grpc.ClientConn, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("net.Listen: %w", err)
	}
	srv := grpc.NewServer()
	ideav1.RegisterIdeaServiceServer(srv, bareIdeas{idea: idea})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, nil, fmt.Errorf("grpc.NewClient: %w", err)
	}
	return conn, func() { conn.Close(); srv.Stop() }, nil
}

// bareHTTP serves doc with encoding/json on every request: the baseline of S2.
func bareHTTP(doc any) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("net.Listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return "http://" + lis.Addr().String() + "/idea", func() { srv.Close() }, nil
}
