package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_SplitDeploymentSystemCalls: one deployment whose services run in
// two processes, as on Kubernetes with one Deployment per target. The
// funding process checks a subproject's idea at the idea process as the
// deployment itself: that call is proven by the deployment's certificate,
// since neither process holds the other's in-memory service credential.
// Without TLS between them the same call is refused, so the subproject is
// not created on an unchecked reference.
func TestServe_SplitDeploymentSystemCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	dir := t.TempDir()
	certDir, devKey := filepath.Join(dir, "certs"), filepath.Join(dir, "devkey")
	if out, err := exec.Command(bin, "certs", "-out", certDir, "-regions", "uppsala").CombinedOutput(); err != nil {
		t.Fatalf("motor certs: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "uppsala.json")
	if err := os.WriteFile(conf, []byte(`{"name": "uppsala", "regions": ["uppsala"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsFlags := []string{"-tls-ca", filepath.Join(certDir, "ca.pem"), "-tls-cert", filepath.Join(certDir, "uppsala.pem"), "-tls-key", filepath.Join(certDir, "uppsala-key.pem")}

	for _, tc := range []struct {
		name    string
		tls     []string
		created bool
	}{
		{"mTLS: the deployment's certificate proves the system call", tlsFlags, true},
		{"plain text: another process's call as the service is refused", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			common := append([]string{"-config", conf, "-dev-key", devKey, "-demo=false"}, tc.tls...)
			ideas := startMotor(t, bin, append([]string{"-target", "idea,needs,partner", "-data", filepath.Join(data, "ideas")}, common...)...)
			front := startMotor(t, bin, append([]string{"-target", "funding,gateway", "-data", filepath.Join(data, "front"),
				"-upstreams", fmt.Sprintf("idea=%s,needs=%s,partner=%s", ideas.grpc, ideas.grpc, ideas.grpc)}, common...)...)
			admin := motorToken(t, bin, devKey, "-role", "region_admin", "-region", "uppsala")
			coord := motorToken(t, bin, devKey, "-role", "coordinator")
			mustCall(t, "POST", front.url+"/v1/programmes?programmeId=split&requestId=p1", coord,
				`{"title":"Innovationsmotorer","budgetOre":"100000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)

			idea := mustCall(t, "POST", front.url+"/v1/regions/uppsala/ideas", admin,
				`{"title":"Sensorer i förrådet","problem":"Materialet tar slut utan förvarning.","origin":"ORIGIN_STAFF"}`)
			body := `{"title":"Förråd som beställer själva","programme":"programmes/split","ideas":["` + jsonField(idea, "name") + `"],
				"budgetLines":[{"category":"COST_CATEGORY_EQUIPMENT","amountOre":"1000000","eligible":true}]}`
			code, sp := call(t, "POST", front.url+"/v1/regions/uppsala/subprojects", admin, body)
			if tc.created {
				if code != 200 || jsonField(sp, "name") == "" {
					t.Fatalf("subproject referring to an idea of the other process: %d %v, want 200", code, sp)
				}
				// The check is real: an idea that does not exist is named.
				code, bad := call(t, "POST", front.url+"/v1/regions/uppsala/subprojects", admin,
					strings.Replace(body, jsonField(idea, "name"), "regions/uppsala/ideas/nope", 1))
				if code != 400 || !strings.Contains(fmt.Sprint(bad), "subproject.ideas[0]") {
					t.Errorf("subproject referring to a missing idea: %d %v, want 400 naming subproject.ideas[0]", code, bad)
				}
			} else if code == 200 {
				t.Errorf("subproject created with its reference unchecked: %v", sp)
			}
			front.stop(t)
			ideas.stop(t)
		})
	}
}
