package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// The person planted everywhere and erased: every byte of these must leave
// the store's files.
const (
	gretaSub   = "greta-7f3a9c"
	gretaName  = "Greta Lindqvist"
	gretaMail  = "greta.lindqvist@example.se"
	gretaPhone = "070-123 45 67"
)

var gretaNeedles = []string{"Greta", "Lindqvist", gretaMail, gretaPhone, gretaSub}

// TestPerson_ExportAndEraseEverywhere plants one person's name, e-mail,
// phone and subject in every kind of record of every service — an idea
// with submitter details and consent, its history and a scorecard, a need
// with evidence, its decision and a screening, a partner contact, an offer,
// a subproject, notifications and settings, an export's audit record, and
// the request ids of the creates — over REST against the real binary on
// both stores. The person's own export holds each item; another submitter,
// an advisor of the region, an advisor of another region and a partner are
// refused. After a region admin erases the person, no byte of them is left
// in the bbolt file after compaction, nor in Redis's append-only file and
// snapshot after their rewrite, while the ideas and needs stay.
func TestPerson_ExportAndEraseEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	for _, backend := range []string{"bbolt", "redis"} {
		t.Run(backend, func(t *testing.T) {
			data := t.TempDir()
			args := []string{"-data", data, "-demo=false"}
			var r *testenv.Redis
			if backend == "redis" {
				r = testenv.StartRedis(t)
				args = append(args, "-store", r.URL())
			}
			p := startMotor(t, bin, args...)
			tok := func(args ...string) string { return motorToken(t, bin, data, append(args, "-region", "uppsala")...) }
			me := tok("-role", "submitter", "-sub", gretaSub, "-name", gretaName)
			meStaff := tok("-role", "advisor", "-sub", gretaSub, "-name", gretaName)
			meAdmin := tok("-role", "region_admin", "-sub", gretaSub, "-name", gretaName)
			anna := tok("-role", "advisor", "-sub", "anna-advisor", "-name", "Anna Berg")
			admin := tok("-role", "region_admin", "-sub", "admin-uppsala", "-name", "Per Admin")
			u := p.url + "/v1/regions/uppsala"

			// Ideas: hers with her details, and Anna's that she decides on and scores.
			mine := mustCall(t, "POST", u+"/ideas?requestId=idea-1", me, `{"title":"Tolk via video","problem":"Tolken kommer sent.","origin":"ORIGIN_PATIENT",
				"submitter":{"displayName":"`+gretaName+`","email":"`+gretaMail+`","phone":"`+gretaPhone+`","workplace":"Hemma"},
				"consent":{"contact":true,"storePersonalData":true}}`)
			staffIdea := mustCall(t, "POST", u+"/ideas", anna, `{"title":"Digital remiss","problem":"Remisser kommer bort.","origin":"ORIGIN_STAFF"}`)
			mustCall(t, "POST", p.url+"/v1/"+jsonField(staffIdea, "name")+":transition", meStaff, `{"stage":"STAGE_SCREENING","etag":"1"}`)
			mustCall(t, "POST", p.url+"/v1/"+jsonField(staffIdea, "name")+"/assessments?requestId=score-1", meStaff,
				`{"patientBenefit":5,"careBenefit":4,"feasibility":4,"novelty":3,"marketPotential":3,"risk":4,"comment":"Bra"}`)
			mustCall(t, "POST", p.url+"/v1/"+jsonField(mine, "name")+":transition", anna, `{"stage":"STAGE_SCREENING","etag":"1"}`)

			// A need she reported, with her in its evidence, moved and screened by her.
			need := mustCall(t, "POST", u+"/needs?requestId=need-1", meStaff, `{"problem":"upptäcka fall nattetid","population":"boende på särskilda boenden",
				"outcome":"korta tiden på golvet","careUnit":"Äldreomsorg","reportedBy":"ORIGIN_STAFF",
				"evidence":"Avvikelser sammanställda av `+gretaName+`, `+gretaMail+`, `+gretaPhone+`"}`)
			mustCall(t, "POST", p.url+"/v1/"+jsonField(need, "name")+"/screenings?requestId=screen-1", meStaff,
				`{"clinicalImpact":5,"patientsAffected":4,"problemCost":3,"strategicFit":3,"feasibility":2}`)
			need = mustCall(t, "GET", p.url+"/v1/"+jsonField(need, "name"), meStaff, "")
			mustCall(t, "POST", p.url+"/v1/"+jsonField(need, "name")+":transition", meStaff, `{"status":"NEED_STATUS_VALIDATED","etag":"`+jsonField(need, "etag")+`"}`)

			// A partner with her as a contact, and an offer she registered.
			partner := mustCall(t, "POST", u+"/partners", admin, `{"displayName":"Norrsken AB","orgNumber":"2120000142","kind":"PARTNER_KIND_COMPANY","size":"COMPANY_SIZE_SMALL",
				"contacts":[{"name":"`+gretaName+`","email":"`+gretaMail+`","phone":"`+gretaPhone+`","role":"kontakt"},{"name":"Olle Ek","email":"olle@norrsken.example","role":"VD"}]}`)
			offer := mustCall(t, "POST", u+"/offers?requestId=offer-1", meStaff, `{"partner":"`+jsonField(partner, "name")+`","title":"Sensormatta","description":"Larmar vid fall.","capabilities":["sensorer"]}`)

			// A subproject she created as admin, on a programme of the ledger.
			coord := motorToken(t, bin, data, "-role", "coordinator", "-region", "national")
			mustCall(t, "POST", p.url+"/v1/programmes?programmeId=p", coord, `{"title":"Programmet","budgetOre":"100000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)
			mustCall(t, "POST", u+"/subprojects?requestId=sub-1", meAdmin,
				`{"title":"Fallsensorer","programme":"programmes/p","budgetLines":[{"category":"COST_CATEGORY_STAFF","amountOre":"100000","eligible":true}]}`)

			// Her settings, an export she made, and her inbox.
			mustCall(t, "PATCH", u+"/users/"+gretaSub+"/notificationSettings?updateMask=language", me, `{"language":"en"}`)
			if code, _ := call(t, "GET", u+"/exports/ideas.csv", meStaff, ""); code != 200 {
				t.Fatalf("export of ideas: %d", code)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				inbox := mustCall(t, "GET", u+"/notifications", me, "")
				if n, _ := inbox["notifications"].([]any); len(n) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no notification reached her inbox: %v", inbox)
				}
				time.Sleep(100 * time.Millisecond)
			}

			// Her own copy holds every item.
			export := mustCall(t, "GET", u+"/persons/me:export", me, "")
			count := func(path ...string) int {
				var v any = export
				for _, k := range path {
					m, _ := v.(map[string]any)
					v = m[k]
				}
				l, _ := v.([]any)
				return len(l)
			}
			for _, c := range []struct {
				path []string
				min  int
			}{
				{[]string{"idea", "ideas"}, 1}, {[]string{"idea", "history"}, 1}, {[]string{"idea", "assessments"}, 1}, {[]string{"idea", "auditEvents"}, 3},
				{[]string{"needs", "needs"}, 1}, {[]string{"needs", "history"}, 1}, {[]string{"needs", "screenings"}, 1}, {[]string{"needs", "auditEvents"}, 3},
				{[]string{"partner", "offers"}, 1}, {[]string{"partner", "auditEvents"}, 1},
				{[]string{"funding", "auditEvents"}, 1}, {[]string{"reports", "auditEvents"}, 1},
				{[]string{"notify", "notifications"}, 1},
			} {
				if n := count(c.path...); n < c.min {
					t.Errorf("her export has %d items at %v, want at least %d", n, c.path, c.min)
				}
			}
			body, _ := json.Marshal(export)
			for _, want := range []string{jsonField(mine, "name"), gretaMail, gretaPhone, jsonField(need, "name"), jsonField(offer, "name"), `"language":"en"`} {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("her export lacks %q", want)
				}
			}
			if bytes.Contains(body, []byte("Olle Ek")) || count("partner", "contacts") != 0 {
				t.Errorf("her own export (no e-mail named) holds partner contacts: %s", body)
			}
			// The admin's, naming her e-mail, also has her contact entry and
			// nothing of the other contact.
			byAdmin := mustCall(t, "GET", u+"/persons/"+gretaSub+":export?email="+gretaMail, admin, "")
			if b, _ := json.Marshal(byAdmin["partner"]); !bytes.Contains(b, []byte(gretaPhone)) || bytes.Contains(b, []byte("Olle")) {
				t.Errorf("admin's export, partner part: %s", b)
			}

			// Nobody else gets her data or erases her.
			other := tok("-role", "submitter", "-sub", "someone-else")
			elsewhere := motorToken(t, bin, data, "-role", "advisor", "-region", "skane", "-sub", "skane-advisor")
			company := tok("-role", "partner", "-sub", "company-user", "-partner", jsonField(partner, "name"))
			for _, c := range []struct {
				who, token, method, path, body string
			}{
				{"another submitter", other, "GET", "/persons/" + gretaSub + ":export", ""},
				{"another submitter", other, "POST", "/persons/" + gretaSub + ":erase", "{}"},
				{"an advisor of the region", anna, "GET", "/persons/" + gretaSub + ":export", ""},
				{"an advisor of the region", anna, "POST", "/persons/" + gretaSub + ":erase", "{}"},
				{"an advisor of another region", elsewhere, "GET", "/persons/" + gretaSub + ":export", ""},
				{"an advisor of another region", elsewhere, "POST", "/persons/" + gretaSub + ":erase", "{}"},
				{"a partner", company, "GET", "/persons/" + gretaSub + ":export", ""},
				{"a partner", company, "POST", "/persons/" + gretaSub + ":erase", "{}"},
				{"a submitter naming an e-mail", other, "GET", "/persons/me:export?email=" + gretaMail, ""},
			} {
				code, out := call(t, c.method, u+c.path, c.token, c.body)
				if code != 403 && code != 404 {
					t.Errorf("%s: %s %s = %d %v, want 403 or 404", c.who, c.method, c.path, code, out)
				}
				if b, _ := json.Marshal(out); bytes.Contains(b, []byte(gretaMail)) {
					t.Errorf("%s: the refusal holds her e-mail: %s", c.who, b)
				}
			}

			// Before the erasure the store's files hold her (else the scan below proves nothing).
			var files func() []byte
			if backend == "redis" {
				rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
				t.Cleanup(func() { _ = rdb.Close() })
				if err := rdb.ConfigSet(t.Context(), "rdbcompression", "no").Err(); err != nil {
					t.Fatal(err)
				}
				files = func() []byte { rewriteRedis(t, rdb); return redisFiles(t, r.Dir) }
			} else {
				files = func() []byte {
					p.stop(t)
					if out, err := exec.Command(bin, "compact", "-data", data).CombinedOutput(); err != nil {
						t.Fatalf("motor compact: %v %s", err, out)
					}
					raw, err := os.ReadFile(filepath.Join(data, "motor.db"))
					if err != nil {
						t.Fatal(err)
					}
					p = startMotor(t, bin, args...)
					u = p.url + "/v1/regions/uppsala"
					return raw
				}
			}
			before := files()
			for _, n := range gretaNeedles {
				if !bytes.Contains(before, []byte(n)) {
					t.Fatalf("the store's files do not hold %q before the erasure: the scan is broken", n)
				}
			}

			began := time.Now()
			erased := mustCall(t, "POST", u+"/persons/"+gretaSub+":erase", admin, `{"email":"`+gretaMail+`"}`)
			t.Logf("%s: erasure across six services took %v", backend, time.Since(began).Round(time.Millisecond))
			if b, _ := json.Marshal(erased); len(erased["services"].([]any)) != 6 {
				t.Errorf("erasure answer: %s, want six services", b)
			}
			again := mustCall(t, "POST", u+"/persons/"+gretaSub+":erase", admin, `{"email":"`+gretaMail+`"}`)
			for _, s := range again["services"].([]any) {
				if m := s.(map[string]any); jsonField(m, "recordsChanged") != "" || jsonField(m, "auditEventsRedacted") != "" {
					t.Errorf("a repeated erasure changed something: %v", m)
				}
			}
			// The records stay, without her.
			kept := mustCall(t, "GET", p.url+"/v1/"+jsonField(mine, "name"), anna, "")
			if jsonField(kept, "title") != "Tolk via video" || kept["submitter"] != nil {
				t.Errorf("her idea after erasure: %v", kept)
			}
			if n := mustCall(t, "GET", p.url+"/v1/"+jsonField(need, "name"), anna, ""); jsonField(n, "problem") != "upptäcka fall nattetid" {
				t.Errorf("her need after erasure: %v", n)
			}
			if pt := mustCall(t, "GET", p.url+"/v1/"+jsonField(partner, "name"), admin, ""); len(pt["contacts"].([]any)) != 1 {
				t.Errorf("partner after erasure: %v, want the other contact only", pt)
			}
			empty := mustCall(t, "GET", u+"/persons/me:export", me, "")
			if b, _ := json.Marshal(empty); bytes.Contains(b, []byte(gretaMail)) || bytes.Contains(b, []byte(`"ideas"`)) || bytes.Contains(b, []byte(`"notifications"`)) {
				t.Errorf("her export after erasure: %s", b)
			}

			all := files()
			for _, n := range gretaNeedles {
				if i := bytes.Index(all, []byte(n)); i >= 0 {
					t.Errorf("the %s store's files still hold %q: …%q…", backend, n, all[max(0, i-80):min(len(all), i+80)])
				}
			}
			for _, keep := range []string{"Tolk via video", "upptäcka fall nattetid", "Olle Ek", "anna-advisor"} {
				if !bytes.Contains(all, []byte(keep)) {
					t.Errorf("the %s store's files lost %q, which is not hers (or the scan is broken)", backend, keep)
				}
			}
			p.stop(t)
		})
	}
}

// rewriteRedis has Redis rewrite its append-only file and write its
// snapshot, after any rewrite an erasure started, and waits for both.
func rewriteRedis(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := t.Context()
	state := func() (done int, busy bool) {
		for _, line := range strings.Split(rdb.Info(ctx, "persistence").Val(), "\r\n") {
			if v, ok := strings.CutPrefix(line, "aof_rewrites:"); ok {
				done, _ = strconv.Atoi(v)
			}
			busy = busy || line == "aof_rewrite_in_progress:1" || line == "aof_rewrite_scheduled:1" || line == "rdb_bgsave_in_progress:1"
		}
		return done, busy
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, busy := state(); busy; _, busy = state() {
		if time.Now().After(deadline) {
			t.Fatal("Redis stayed busy rewriting")
		}
		time.Sleep(50 * time.Millisecond)
	}
	before, _ := state()
	if err := rdb.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for done, busy := state(); done <= before || busy; done, busy = state() {
		if time.Now().After(deadline) {
			t.Fatal("the append-only file was not rewritten")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := rdb.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

// redisFiles is every file Redis keeps data in: the append-only files and
// the snapshot.
func redisFiles(t *testing.T, dir string) []byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*"))
	paths = append(paths, filepath.Join(dir, "dump.rdb"))
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}
