package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// buildMotor compiles the real binary once per test.
func buildMotor(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "motor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// motorProcess is a running `motor serve`.
type motorProcess struct {
	cmd    *exec.Cmd
	url    string // the gateway, if it runs one
	grpc   string // the services' gRPC address, if it runs any
	admin  string // the admin listener: /metrics, /debug/pprof
	stderr *bytes.Buffer
	exited chan error
}

// startMotor runs `motor serve` on free ports and waits until it is ready.
func startMotor(t testing.TB, bin string, args ...string) *motorProcess {
	t.Helper()
	args = append([]string{"serve", "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0", "-admin", "127.0.0.1:0"}, args...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &motorProcess{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "motor: admin "); ok {
				p.admin = strings.Fields(rest)[0]
			}
			if rest, ok := strings.CutPrefix(line, "motor: gateway "); ok {
				p.url = strings.Fields(rest)[0]
			}
			if _, rest, ok := strings.Cut(line, "motor: gRPC services "); ok {
				if f := strings.Fields(rest); len(f) >= 3 {
					p.grpc = f[2]
				}
			}
			if line == "motor: ready" {
				close(ready)
			}
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-p.exited:
		t.Fatalf("motor exited before serving: %v\n%s", err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("motor did not start within 60s\n%s", p.stderr)
	}
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *motorProcess) stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v (the process ended before; its log:\n%s)", err, p.stderr)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("motor exited with %v after SIGTERM, want 0\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("motor did not exit within 30s of SIGTERM")
	}
}

func motorToken(t *testing.T, bin, data string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"token", "-data", data}, args...)...).Output()
	if err != nil {
		t.Fatalf("motor token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func listCount(t *testing.T, url, token string) int {
	t.Helper()
	code, body := call(t, "GET", url+"/v1/regions/vasterbotten/ideas?pageSize=1000", token, "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, body)
	}
	ideas, _ := body["ideas"].([]any)
	return len(ideas)
}

// TestServe_EndToEnd is the README's first steps, on the real binary, on
// both stores: start, get a token, create, get, list, restart, stop.
func TestServe_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) []string
	}{
		{"bbolt", func(t *testing.T) []string { return nil }},
		{"redis", func(t *testing.T) []string { return []string{"-store", testenv.StartRedis(t).URL()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			args := append([]string{"-data", data}, tc.store(t)...)
			p := startMotor(t, bin, args...)
			advisor := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")

			if code, _ := call(t, "GET", p.url+"/healthz", "", ""); code != 200 {
				t.Fatalf("/healthz: %d", code)
			}
			demo := listCount(t, p.url, advisor)
			if demo == 0 {
				t.Errorf("no demo ideas in vasterbotten")
			}
			code, created := call(t, "POST", p.url+"/v1/regions/vasterbotten/ideas?requestId=e2e-1", advisor,
				`{"title":"Digital remiss","problem":"Remisser kommer bort.","origin":"ORIGIN_STAFF"}`)
			if code != 200 {
				t.Fatalf("create: %d %v", code, created)
			}
			name, _ := created["name"].(string)
			if code, got := call(t, "GET", p.url+"/v1/"+name, advisor, ""); code != 200 || got["title"] != "Digital remiss" {
				t.Errorf("get: %d %v", code, got)
			}
			if n := listCount(t, p.url, advisor); n != demo+1 {
				t.Errorf("list: %d ideas, want %d", n, demo+1)
			}
			if code, _ := call(t, "GET", p.url+"/v1/regions/vasterbotten/ideas", motorToken(t, bin, data, "-role", "advisor", "-region", "uppsala"), ""); code != 403 {
				t.Errorf("uppsala token on vasterbotten: %d, want 403", code)
			}
			// The region's admin finds the create in the idea service's audit log.
			admin := motorToken(t, bin, data, "-role", "region_admin", "-region", "vasterbotten")
			found := false
			for tok := ""; ; {
				code, page := call(t, "GET", p.url+"/v1/regions/vasterbotten/audit/idea?pageSize=1000&pageToken="+tok, admin, "")
				if code != 200 {
					t.Fatalf("audit log: %d %v", code, page)
				}
				evs, _ := page["events"].([]any)
				for _, ev := range evs {
					if ev := ev.(map[string]any); ev["resource"] == name && ev["action"] == "CreateIdea" {
						found = true
					}
				}
				if tok = jsonField(page, "nextPageToken"); tok == "" {
					break
				}
			}
			if !found {
				t.Errorf("audit log of vasterbotten's ideas has no CreateIdea of %s", name)
			}
			p.stop(t)

			// Everything survives a restart, and demo content is not seeded twice.
			p = startMotor(t, bin, args...)
			if n := listCount(t, p.url, advisor); n != demo+1 {
				t.Errorf("after restart: %d ideas, want %d", n, demo+1)
			}
			p.stop(t)
		})
	}
}

// TestServe_SplitTargets runs the services and the gateway as two
// processes, the way Kubernetes runs them.
func TestServe_SplitTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	data := t.TempDir()
	ideas := startMotor(t, bin, "-target", strings.Join(serviceTargets(), ","), "-data", data, "-demo=false")
	gw := startMotor(t, bin, "-target", "gateway", "-data", data, "-upstream", ideas.grpc)
	if ideas.url != "" || gw.grpc != "" {
		t.Fatalf("service targets serve HTTP (%q) or gateway target serves gRPC (%q)", ideas.url, gw.grpc)
	}
	tok := motorToken(t, bin, data, "-role", "submitter", "-region", "uppsala")
	code, created := call(t, "POST", gw.url+"/v1/regions/uppsala/ideas", tok, `{"title":"t","problem":"p","origin":"ORIGIN_PATIENT"}`)
	if code != 200 {
		t.Fatalf("create through the split gateway: %d %v", code, created)
	}
	if code, _ := call(t, "GET", gw.url+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz of the split gateway: %d", code)
	}
	ideas.stop(t)
	if code, _ := call(t, "GET", gw.url+"/readyz", "", ""); code != 503 {
		t.Errorf("/readyz with the services gone: %d, want 503", code)
	}
	gw.stop(t)
}

func TestServe_BadFlags(t *testing.T) {
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"serve", "-regions", "narnia", "-target", "spaceship", "-store", "mysql://x"}, io.Discard, &stderr)
	if err == nil {
		t.Fatal("bad flags accepted")
	}
	for _, want := range []string{"-regions", "-target", "-store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestToken_BadFlags(t *testing.T) {
	err := run(t.Context(), []string{"token", "-data", t.TempDir(), "-role", "wizard", "-region", "narnia"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-role") || !strings.Contains(err.Error(), "-region") {
		t.Errorf("token with bad role and region: %v, want both named", err)
	}
}
