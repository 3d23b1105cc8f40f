package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The TypeScript client a portal generates from /openapi.json: the test
// generates it from the committed document (openapi-typescript, kept out
// of git), compiles it with tsc (strict, so a document the generator
// cannot type fails here), and lists ideas through it from a running
// motor with demo data.
func TestTypeScriptClient(t *testing.T) {
	tools, err := filepath.Abs("../../tools/api")
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(filepath.Join(tools, "node_modules", ".bin", "tsc")); err != nil || nodeErr != nil {
		msg := "the TypeScript client test needs node and tools/api/node_modules: run `make api-tools`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	gen := exec.Command("npm", "run", "--silent", "client")
	gen.Dir = tools
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generating and compiling the client: %v\n%s", err, out)
	}

	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data)
	defer p.stop(t)
	token := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")

	run := func(token string) (string, string, error) {
		cmd := exec.Command("node", filepath.Join(tools, "client", "dist", "list-ideas.js"), p.url, "vasterbotten", token)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out), stderr.String(), err
	}
	out, stderr, err := run(token)
	if err != nil {
		t.Fatalf("the client's call: %v\n%s", err, stderr)
	}
	var got struct {
		Count int    `json:"count"`
		First string `json:"first"`
		Stage string `json:"stage"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	code, body := call(t, "GET", p.url+"/v1/regions/vasterbotten/ideas?pageSize=100", token, "")
	if code != 200 {
		t.Fatalf("list over plain HTTP: %d %v", code, body)
	}
	ideas, _ := body["ideas"].([]any)
	if len(ideas) == 0 {
		t.Fatal("the demo data has no ideas in vasterbotten")
	}
	first, _ := ideas[0].(map[string]any)
	if got.Count != len(ideas) || got.First != first["name"] || got.Stage != first["stage"] {
		t.Errorf("the client saw %+v; the gateway answers %d ideas, the first %v at %v", got, len(ideas), first["name"], first["stage"])
	}

	// The reference the client's author reads is in the binary too.
	resp, err := http.Get(p.url + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<redoc") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("/docs from the binary: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	// A refused call reaches the client as the document's Status, with
	// the ErrorInfo's reason.
	_, stderr, err = run("not-a-token")
	if err == nil || !strings.Contains(stderr, "401") {
		t.Errorf("with a bad token the client exited %v, said %q; want a failure naming 401", err, stderr)
	}
}
