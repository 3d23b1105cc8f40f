package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
)

// needsByPriority pages through a region's needs by priority and returns
// their scores in list order.
func needsByPriority(t *testing.T, url, token string) []float64 {
	t.Helper()
	var scores []float64
	page := url + "/v1/regions/uppsala/needs?orderBy=priority_score%20desc&pageSize=2"
	for next, pages := "", 0; ; pages++ {
		code, body := call(t, "GET", page+"&pageToken="+next, token, "")
		if code != 200 {
			t.Fatalf("list needs by priority: %d %v", code, body)
		}
		needs, _ := body["needs"].([]any)
		if len(needs) > 2 {
			t.Fatalf("page of %d needs, want at most 2", len(needs))
		}
		for _, n := range needs {
			score, _ := n.(map[string]any)["priorityScore"].(float64)
			scores = append(scores, score)
		}
		next, _ = body["nextPageToken"].(string)
		if next == "" {
			return scores
		}
		if pages > 50 {
			t.Fatal("pagination does not end")
		}
	}
}

// TestServe_NeedsSplitTargets runs the idea service in one process and the
// needs service with the gateway in another, the way Kubernetes runs them:
// a link to an idea goes over real gRPC between the two, with the caller's
// token.
func TestServe_NeedsSplitTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	ideaData, needsData := t.TempDir(), t.TempDir()
	ideas := startMotor(t, bin, "-target", "idea", "-data", ideaData, "-demo=false")
	// Both processes check tokens against the same dev key, as two pods
	// check them against one identity provider.
	key, err := os.ReadFile(filepath.Join(ideaData, auth.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(needsData, auth.DevKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	front := startMotor(t, bin, "-target", "needs,gateway", "-data", needsData, "-upstreams", "idea="+ideas.grpc)
	if ideas.url != "" || front.url == "" || front.grpc == "" {
		t.Fatalf("idea process serves HTTP (%q), or the front process lacks HTTP (%q) or gRPC (%q)", ideas.url, front.url, front.grpc)
	}
	// No /readyz check here: this gateway also routes services that neither
	// process runs, so it rightly reports them missing.
	advisor := motorToken(t, bin, ideaData, "-role", "advisor", "-region", "uppsala")

	// The demo needs of Uppsala, by priority, in pages.
	scores := needsByPriority(t, front.url, advisor)
	if len(scores) < 3 {
		t.Fatalf("%d demo needs in uppsala, want several", len(scores))
	}
	for i := 1; i < len(scores); i++ {
		if scores[i] > scores[i-1] {
			t.Errorf("priority order %v: not descending", scores)
			break
		}
	}

	code, idea := call(t, "POST", front.url+"/v1/regions/uppsala/ideas", advisor, `{"title":"Vågar i förrådet","problem":"Material tar slut.","origin":"ORIGIN_STAFF"}`)
	if code != 200 {
		t.Fatalf("create idea through the front gateway: %d %v", code, idea)
	}
	code, need := call(t, "POST", front.url+"/v1/regions/uppsala/needs", advisor,
		`{"problem":"beställa material i tid","population":"vårdavdelningar","outcome":"inget tar slut","reportedBy":"ORIGIN_STAFF"}`)
	if code != 200 {
		t.Fatalf("create need: %d %v", code, need)
	}
	name, _ := need["name"].(string)
	code, linked := call(t, "POST", front.url+"/v1/"+name+":link", advisor, `{"target":"`+idea["name"].(string)+`","etag":"1"}`)
	if links, _ := linked["links"].([]any); code != 200 || len(links) != 1 || links[0] != idea["name"] {
		t.Fatalf("link to an idea in the other process: %d %v", code, linked)
	}
	if code, body := call(t, "POST", front.url+"/v1/"+name+":link", advisor, `{"target":"regions/uppsala/ideas/doesnotexist"}`); code != 400 {
		t.Errorf("link to a missing idea: %d %v, want 400", code, body)
	}
	if code, body := call(t, "POST", front.url+"/v1/"+name+":transition", advisor, `{"status":"NEED_STATUS_VALIDATED","etag":"`+linked["etag"].(string)+`"}`); code != 200 {
		t.Errorf("transition: %d %v", code, body)
	}

	// With the idea service gone, a link to an idea is 503 and not written;
	// the rest of the needs service keeps working.
	ideas.stop(t)
	code, body := call(t, "POST", front.url+"/v1/"+name+":link", advisor, `{"target":"`+idea["name"].(string)+`x"}`)
	if code != 503 {
		t.Errorf("link with the idea service down: %d %v, want 503", code, body)
	}
	code, got := call(t, "GET", front.url+"/v1/"+name, advisor, "")
	if links, _ := got["links"].([]any); code != 200 || len(links) != 1 {
		t.Errorf("after the refused link: %d %v, want the one link", code, got)
	}
	if code, body := call(t, "POST", front.url+"/v1/"+name+":link", advisor, `{"target":"regions/uppsala/offers/acme-1"}`); code != 200 {
		t.Errorf("offer link with the idea service down: %d %v", code, body)
	}
	front.stop(t)

	// A restart keeps everything and seeds no demo needs twice.
	front = startMotor(t, bin, "-target", "needs,gateway", "-data", needsData, "-upstreams", "idea="+ideas.grpc)
	if n := len(needsByPriority(t, front.url, advisor)); n != len(scores)+1 {
		t.Errorf("after restart: %d needs, want %d", n, len(scores)+1)
	}
	front.stop(t)
}

// TestServe_NeedsDemoContent: the all-in-one run seeds needs in both
// regions, with published needs for partners.
func TestServe_NeedsDemoContent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data)
	for _, region := range []string{"vasterbotten", "uppsala"} {
		partner := motorToken(t, bin, data, "-role", "partner", "-region", region, "-partner", "regions/"+region+"/partners/acme")
		code, body := call(t, "GET", p.url+"/v1/regions/"+region+"/needs", partner, "")
		needs, _ := body["needs"].([]any)
		if code != 200 || len(needs) == 0 {
			t.Errorf("%s: partner sees %d published demo needs (%d)", region, len(needs), code)
		}
		for i, n := range needs {
			if m := n.(map[string]any); m["published"] != true || m["evidence"] != nil {
				t.Errorf("%s need %d: partner sees %v", region, i, m)
			}
		}
	}
	p.stop(t)
}
