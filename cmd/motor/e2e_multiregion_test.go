package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/testenv"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// region is one deployment of the multi-region test: its process, its own
// redis-server, and how to start it again.
type region struct {
	name string
	proc *motorProcess
	args []string
}

// multiRegion starts Västerbotten, Uppsala and the national deployment as
// three motor processes on loopback, each with its own redis-server and a
// certificate of one dev CA, peers of each other over mTLS.
type multiRegion struct {
	bin, certs, devKey string
	national, vb, up   *region
}

// multiOptions changes how startMultiRegion wires the deployments.
type multiOptions struct {
	// ledgerVia, when set, maps the national deployment's gRPC address to
	// the one Västerbotten is configured to reach it at (a proxy).
	ledgerVia func(national string) string
	// vbArgs are extra flags for Västerbotten.
	vbArgs []string
	// onlyNational lists only the national peer in the regions' configs.
	onlyNational bool
}

func startMultiRegion(t *testing.T, opts ...func(*multiOptions)) *multiRegion {
	t.Helper()
	var o multiOptions
	for _, f := range opts {
		f(&o)
	}
	m := &multiRegion{bin: buildMotor(t)}
	dir := t.TempDir()
	m.certs, m.devKey = filepath.Join(dir, "certs"), filepath.Join(dir, "devkey")
	if out, err := exec.Command(m.bin, "certs", "-out", m.certs, "-regions", "vasterbotten,uppsala,national").CombinedOutput(); err != nil {
		t.Fatalf("motor certs: %v\n%s", err, out)
	}
	// Fixed gRPC ports, so that a restarted region is where its peers expect it.
	ports := map[string]string{}
	for _, n := range []string{"national", "vasterbotten", "uppsala"} {
		ports[n] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	}
	peerAt := func(name, address string, national bool) string {
		return fmt.Sprintf(`{"name": %q, "address": %q, "national": %v}`, name, address, national)
	}
	peer := func(name string, national bool) string { return peerAt(name, ports[name], national) }
	nationalForVB := ports["national"]
	if o.ledgerVia != nil {
		nationalForVB = o.ledgerVia(nationalForVB)
	}
	write := func(name, peers string) string {
		path := filepath.Join(dir, name+".json")
		body := fmt.Sprintf(`{"name": %q, "devKey": "devkey", "tls": {"ca": "certs/ca.pem", "cert": "certs/%s.pem", "key": "certs/%s-key.pem"}, "peers": [%s]}`,
			name, name, name, peers)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	start := func(name string, args ...string) *region {
		r := testenv.StartRedis(t)
		args = append([]string{"-grpc", ports[name], "-store", r.URL(), "-data", filepath.Join(dir, name), "-demo=false"}, args...)
		return &region{name: name, args: args, proc: startMotor(t, m.bin, args...)}
	}
	m.national = start("national", "-target", "national,gateway,portal",
		"-config", write("national", peer("vasterbotten", false)+","+peer("uppsala", false)))
	vbPeers := peerAt("national", nationalForVB, true) + "," + peer("uppsala", false)
	upPeers := peer("national", true) + "," + peer("vasterbotten", false)
	if o.onlyNational {
		vbPeers, upPeers = peerAt("national", nationalForVB, true), peer("national", true)
	}
	m.vb = start("vasterbotten", append([]string{"-regions", "vasterbotten", "-config", write("vasterbotten", vbPeers)}, o.vbArgs...)...)
	m.up = start("uppsala", "-regions", "uppsala", "-config", write("uppsala", upPeers))
	return m
}

func (m *multiRegion) token(t *testing.T, args ...string) string {
	return motorToken(t, m.bin, m.devKey, args...)
}

// restart starts a stopped region again with the same flags and store.
func (m *multiRegion) restart(t *testing.T, r *region) {
	r.proc = startMotor(t, m.bin, r.args...)
}

func (m *multiRegion) kill(t *testing.T, r *region) {
	if err := r.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.proc.exited
}

// subproject creates and submits a subproject whose programme share is share öre.
func (m *multiRegion) subproject(t *testing.T, r *region, programme string, share int64, rid string) map[string]any {
	t.Helper()
	admin := m.token(t, "-role", "region_admin", "-region", r.name)
	sp := mustCall(t, "POST", r.proc.url+"/v1/regions/"+r.name+"/subprojects?requestId="+rid, admin, fmt.Sprintf(`{
		"title": "Delprojekt %s", "programme": %q,
		"budgetLines": [{"category": "COST_CATEGORY_STAFF", "amountOre": "%d", "eligible": true}],
		"contributions": [{"party": "Region", "kind": "CONTRIBUTION_KIND_CASH", "amountOre": "%d"}]}`, rid, programme, 2*share, share))
	return mustCall(t, "POST", r.proc.url+"/v1/"+jsonField(sp, "name")+":submit", admin, `{"etag":"`+jsonField(sp, "etag")+`"}`)
}

func TestMultiRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three deployments")
	}
	m := startMultiRegion(t)
	coord := m.token(t, "-role", "coordinator")
	outer := t // processes started inside a subtest must outlive it

	// A programme on the national ledger that funds only some of what is asked.
	const programme = "programmes/e2e-multi"
	mustCall(t, "POST", m.national.proc.url+"/v1/programmes?programmeId=e2e-multi&requestId=p", coord,
		`{"title":"Nationellt program","budgetOre":"1000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)

	t.Run("approvals in both regions never over-commit the programme", func(t *testing.T) {
		var subs []map[string]any
		var regions []*region
		for i := range 6 {
			for _, r := range []*region{m.vb, m.up} {
				subs = append(subs, m.subproject(t, r, programme, 150_000+int64(i), fmt.Sprintf("%s-%d", r.name, i)))
				regions = append(regions, r)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var granted int64
		approved := 0
		for i, sp := range subs {
			wg.Go(func() {
				code, body := call(t, "POST", regions[i].proc.url+"/v1/"+jsonField(sp, "name")+":approve", coord, `{"etag":"`+jsonField(sp, "etag")+`"}`)
				switch code {
				case 200:
					var g int64
					fmt.Sscan(jsonField(body, "grantedOre"), &g)
					mu.Lock()
					granted += g
					approved++
					mu.Unlock()
				case 400:
				default:
					t.Errorf("approve %s: %d %v", jsonField(sp, "name"), code, body)
				}
			})
		}
		wg.Wait()
		p := mustCall(t, "GET", m.national.proc.url+"/v1/"+programme, coord, "")
		b, _ := p["balance"].(map[string]any)
		var reserved int64
		fmt.Sscan(jsonField(b, "reservedOre"), &reserved)
		if reserved > 1_000_000 || reserved != granted || approved != 6 {
			t.Errorf("national ledger reserved %d of 1000000 öre; regions were granted %d by %d approvals (want equal, within budget, 6 of 12 approved)", reserved, granted, approved)
		}
	})

	t.Run("an idea spreads from Västerbotten to Uppsala", func(t *testing.T) {
		adv := m.token(t, "-role", "advisor", "-region", "vasterbotten")
		i := mustCall(t, "POST", m.vb.proc.url+"/v1/regions/vasterbotten/ideas", adv,
			`{"title":"Videobesök för KOL-kontroller","problem":"Långa resor till kontroller.","origin":"ORIGIN_STAFF"}`)
		name := jsonField(i, "name")
		step := func(stage string) {
			t.Helper()
			i = mustCall(t, "POST", m.vb.proc.url+"/v1/"+name+":transition", adv, `{"stage":"`+stage+`","etag":"`+jsonField(i, "etag")+`"}`)
		}
		step("STAGE_SCREENING")
		mustCall(t, "POST", m.vb.proc.url+"/v1/"+name+"/assessments", adv, `{"patientBenefit":5,"careBenefit":4,"feasibility":4,"novelty":3,"marketPotential":3,"risk":4}`)
		i = mustCall(t, "GET", m.vb.proc.url+"/v1/"+name, adv, "")
		step("STAGE_SELECTED")
		i = mustCall(t, "PATCH", m.vb.proc.url+"/v1/"+name, adv, `{"ipOwner":"IP_OWNER_REGION","etag":"`+jsonField(i, "etag")+`"}`)
		// The legal prerequisite: a signed collaboration agreement about the
		// idea, in the partner service.
		vbAdmin := m.token(t, "-role", "region_admin", "-region", "vasterbotten")
		org := mustCall(t, "POST", m.vb.proc.url+"/v1/regions/vasterbotten/partners", adv,
			`{"displayName":"Kvarkens tekniska universitet","orgNumber":"2021996315","kind":"PARTNER_KIND_ACADEMIA"}`)
		deal := mustCall(t, "POST", m.vb.proc.url+"/v1/"+jsonField(org, "name")+"/agreements", adv,
			`{"kind":"AGREEMENT_KIND_COLLABORATION","subject":"`+name+`","validFrom":"2026-01-01","validTo":"2030-12-31"}`)
		mustCall(t, "POST", m.vb.proc.url+"/v1/"+jsonField(deal, "name")+":sign", vbAdmin, `{"etag":"`+jsonField(deal, "etag")+`"}`)
		step("STAGE_DEVELOPMENT")
		bed := mustCall(t, "POST", m.vb.proc.url+"/v1/regions/vasterbotten/testBeds", adv,
			`{"displayName":"Innovationsklinik NUS","kind":"TEST_BED_KIND_INNOVATION_CLINIC","capacity":3}`)
		plan := mustCall(t, "POST", m.vb.proc.url+"/v1/"+name+"/testPlans", adv,
			`{"testBed":"`+jsonField(bed, "name")+`","startDate":"2026-05-01","endDate":"2026-06-30","protocol":"Tjugo patienter"}`)
		mustCall(t, "POST", m.vb.proc.url+"/v1/"+jsonField(plan, "name")+":approve", adv, `{"etag":"`+jsonField(plan, "etag")+`"}`)
		i = mustCall(t, "GET", m.vb.proc.url+"/v1/"+name, adv, "")
		step("STAGE_TESTING")
		step("STAGE_IMPLEMENTED")
		spread := mustCall(t, "POST", m.vb.proc.url+"/v1/"+name+":spread", adv, `{"targetRegion":"uppsala","etag":"`+jsonField(i, "etag")+`"}`)
		to, _ := spread["spreadTo"].([]any)
		if jsonField(spread, "stage") != "STAGE_SPREAD" || len(to) != 1 {
			t.Fatalf("after :spread: %v", spread)
		}
		adopted := mustCall(t, "GET", m.up.proc.url+"/v1/"+to[0].(string), m.token(t, "-role", "advisor", "-region", "uppsala"), "")
		if jsonField(adopted, "stage") != "STAGE_SCREENING" || jsonField(adopted, "spreadFrom") != name {
			t.Errorf("Uppsala's adopted idea: %v", adopted)
		}
	})

	t.Run("peers need a certificate of the CA, and their own region's", func(t *testing.T) {
		admin := m.token(t, "-role", "region_admin", "-region", "uppsala")
		// A CA of its own, unknown to the deployments.
		rogue := filepath.Join(t.TempDir(), "rogue")
		if out, err := exec.Command(m.bin, "certs", "-out", rogue, "-regions", "uppsala").CombinedOutput(); err != nil {
			t.Fatalf("motor certs: %v\n%s", err, out)
		}
		dial := func(cert string) fundingv1.SubprojectServiceClient {
			var tc *tls.Config
			var err error
			switch {
			case cert == "rogue":
				tc, err = rpc.ClientTLS(filepath.Join(m.certs, "ca.pem"), filepath.Join(rogue, "uppsala.pem"), filepath.Join(rogue, "uppsala-key.pem"), "uppsala")
				if err != nil {
					t.Fatal(err)
				}
			case cert == "":
				tc = &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true} //nolint:gosec // the test checks that the server refuses a client without a certificate
			default:
				tc, err = rpc.ClientTLS(filepath.Join(m.certs, "ca.pem"), filepath.Join(m.certs, cert+".pem"), filepath.Join(m.certs, cert+"-key.pem"), "uppsala")
				if err != nil {
					t.Fatal(err)
				}
			}
			conn, err := grpc.NewClient(m.up.proc.grpc, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			return fundingv1.NewSubprojectServiceClient(conn)
		}
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+admin)
		req := &fundingv1.ListSubprojectsRequest{Parent: "regions/uppsala"}
		if _, err := dial("").ListSubprojects(ctx, req); status.Code(err) != codes.Unavailable {
			t.Errorf("client without a certificate: %v, want the handshake refused", err)
		}
		if _, err := dial("rogue").ListSubprojects(ctx, req); status.Code(err) != codes.Unavailable {
			t.Errorf("client with a certificate of another CA: %v, want the handshake refused", err)
		}
		if _, err := dial("vasterbotten").ListSubprojects(ctx, req); status.Code(err) != codes.PermissionDenied {
			t.Errorf("Västerbotten's certificate carrying an Uppsala admin's token: %v, want PermissionDenied", err)
		}
		if _, err := dial("national").ListSubprojects(ctx, req); status.Code(err) != codes.PermissionDenied {
			t.Errorf("national deployment's certificate carrying an Uppsala admin's token: %v, want PermissionDenied", err)
		}
		coordCtx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+coord)
		if _, err := dial("national").ListSubprojects(coordCtx, req); err != nil {
			t.Errorf("national deployment's certificate carrying the coordinator's token: %v, want OK", err)
		}
	})

	dashboard := func(t *testing.T) (map[string]any, map[string]map[string]any, time.Duration) {
		t.Helper()
		start := time.Now()
		d := mustCall(t, "GET", m.national.proc.url+"/v1/national/dashboard", coord, "")
		took := time.Since(start)
		byRegion := map[string]map[string]any{}
		list, _ := d["regions"].([]any)
		for _, r := range list {
			r := r.(map[string]any)
			byRegion[jsonField(r, "region")] = r
		}
		return d, byRegion, took
	}

	t.Run("the national dashboard shows both regions", func(t *testing.T) {
		d, regions, _ := dashboard(t)
		// Which region won the race for the programme's money differs
		// from run to run, so each region must show current figures and
		// together they must show exactly what the ledger reserved.
		var sum int64
		for _, name := range []string{"vasterbotten", "uppsala"} {
			r := regions[name]
			subs, _ := r["subprojectsByStatus"].(map[string]any)
			if r == nil || jsonField(r, "status") != "REGION_STATUS_OK" || r["stale"] == true || len(subs) == 0 {
				t.Errorf("%s on the dashboard: %v, want current figures with its subprojects", name, r)
				continue
			}
			var g int64
			fmt.Sscan(jsonField(r, "grantedOre"), &g)
			sum += g
		}
		p := mustCall(t, "GET", m.national.proc.url+"/v1/"+programme, coord, "")
		b, _ := p["balance"].(map[string]any)
		totals, _ := d["totals"].(map[string]any)
		if reserved := jsonField(b, "reservedOre"); fmt.Sprint(sum) != reserved || jsonField(totals, "grantedOre") != reserved {
			t.Errorf("dashboard shows %d granted by region and %s in its totals; the ledger reserved %s", sum, jsonField(totals, "grantedOre"), reserved)
		}
		if d["partial"] == true {
			t.Errorf("dashboard partial with every region up: %v", d)
		}
	})

	t.Run("with Uppsala down, the dashboard is partial and Västerbotten still gets approvals", func(t *testing.T) {
		_, before, _ := dashboard(t)
		m.kill(t, m.up)

		d, regions, took := dashboard(t)
		up, vb := regions["uppsala"], regions["vasterbotten"]
		if d["partial"] != true || took > 10*time.Second {
			t.Errorf("dashboard with Uppsala down: partial %v after %v, want partial within the deadline", d["partial"], took)
		}
		if jsonField(up, "status") != "REGION_STATUS_UNAVAILABLE" || up["stale"] != true ||
			jsonField(up, "figuresTime") != jsonField(before["uppsala"], "figuresTime") || jsonField(up, "grantedOre") != jsonField(before["uppsala"], "grantedOre") {
			t.Errorf("Uppsala while down: %v, want UNAVAILABLE with its last figures (%v) marked stale", up, before["uppsala"])
		}
		if jsonField(vb, "status") != "REGION_STATUS_OK" || vb["stale"] == true {
			t.Errorf("Västerbotten while Uppsala is down: %v, want current figures", vb)
		}
		totals, _ := d["totals"].(map[string]any)
		if inc, _ := totals["includedRegions"].([]any); len(inc) != 1 || inc[0] != "vasterbotten" {
			t.Errorf("totals include %v, want only vasterbotten", totals["includedRegions"])
		}

		sp := m.subproject(t, m.vb, programme, 1, "vb-while-up-down")
		got := mustCall(t, "POST", m.vb.proc.url+"/v1/"+jsonField(sp, "name")+":approve", coord, `{"etag":"`+jsonField(sp, "etag")+`"}`)
		if jsonField(got, "status") != "SUBPROJECT_STATUS_APPROVED" {
			t.Errorf("approval in Västerbotten with Uppsala down: %v", got)
		}

		m.restart(outer, m.up)
		deadline := time.Now().Add(30 * time.Second)
		for {
			d, regions, _ := dashboard(t)
			if d["partial"] != true && jsonField(regions["uppsala"], "status") == "REGION_STATUS_OK" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("dashboard after Uppsala restarted: %v", d)
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
	for _, r := range []*region{m.up, m.vb, m.national} {
		r.proc.stop(t)
	}
}
