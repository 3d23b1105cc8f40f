package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// TestServe_TwoDeployments is the README's "Several deployments" on the real
// binary: a national deployment and an Uppsala one, with certificates of one
// dev CA and a shared dev key. An Uppsala subproject approved through
// Uppsala's gateway reserves its programme share on the national ledger,
// over mTLS.
func TestServe_TwoDeployments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	dir := t.TempDir()
	certDir, devKey := filepath.Join(dir, "certs"), filepath.Join(dir, "devkey")
	if out, err := exec.Command(bin, "certs", "-out", certDir, "-regions", "uppsala,national").CombinedOutput(); err != nil {
		t.Fatalf("motor certs: %v\n%s", err, out)
	}
	tlsFlags := func(name string) []string {
		return []string{"-tls-ca", filepath.Join(certDir, "ca.pem"), "-tls-cert", filepath.Join(certDir, name+".pem"), "-tls-key", filepath.Join(certDir, name+"-key.pem")}
	}

	// The national deployment trusts only the deployments it lists.
	uppsalaGRPC := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	nationalConf := filepath.Join(dir, "national.json")
	if err := os.WriteFile(nationalConf, []byte(`{"name": "national", "national": true,
		"peers": [{"name": "uppsala", "address": "`+uppsalaGRPC+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	national := startMotor(t, bin, append([]string{"-target", "national,gateway", "-config", nationalConf, "-data", filepath.Join(dir, "national"), "-dev-key", devKey, "-demo=false"}, tlsFlags("national")...)...)
	conf := filepath.Join(dir, "uppsala.json")
	if err := os.WriteFile(conf, []byte(`{
		"name": "uppsala",
		"devKey": "devkey",
		"peers": [{"name": "national", "address": "`+national.grpc+`", "national": true}]
	}`), 0o600); err != nil {
		t.Fatal(err)
	}
	uppsala := startMotor(t, bin, append([]string{"-regions", "uppsala", "-grpc", uppsalaGRPC, "-config", conf, "-data", filepath.Join(dir, "uppsala"), "-demo=false"}, tlsFlags("uppsala")...)...)

	coord := motorToken(t, bin, devKey, "-role", "coordinator")
	admin := motorToken(t, bin, devKey, "-role", "region_admin", "-region", "uppsala")

	const programme = "programmes/e2e-mtls"
	mustCall(t, "POST", national.url+"/v1/programmes?programmeId=e2e-mtls&requestId=p1", coord,
		`{"title":"Innovationsmotorer över mTLS","budgetOre":"100000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)
	// The programme exists only on the national ledger, and Uppsala's
	// gateway says so rather than answering from a ledger of its own.
	for _, path := range []string{"/v1/" + programme, "/v1/programmes"} {
		code, body := call(t, "GET", uppsala.url+path, coord, "")
		if msg := jsonField(body, "message"); code != 404 || !strings.Contains(msg, "national deployment national") {
			t.Errorf("GET %s at Uppsala: %d %v, want 404 pointing to the national deployment", path, code, body)
		}
	}

	// Creating checks the programme's rate on the national ledger with the
	// admin's token, carried by Uppsala's certificate.
	sp := mustCall(t, "POST", uppsala.url+"/v1/regions/uppsala/subprojects?requestId=s1", admin, `{
		"title": "Automatisk påfyllning av förråd",
		"programme": "`+programme+`",
		"budgetLines": [{"category": "COST_CATEGORY_EQUIPMENT", "amountOre": "30000000", "eligible": true}],
		"contributions": [{"party": "Region Uppsala", "kind": "CONTRIBUTION_KIND_CASH", "amountOre": "15000000"}]}`)
	name := jsonField(sp, "name")
	sp = mustCall(t, "POST", uppsala.url+"/v1/"+name+":submit", admin, `{"etag":"`+jsonField(sp, "etag")+`"}`)
	sp = mustCall(t, "POST", uppsala.url+"/v1/"+name+":approve", coord, `{"etag":"`+jsonField(sp, "etag")+`"}`)
	if jsonField(sp, "status") != "SUBPROJECT_STATUS_APPROVED" || jsonField(sp, "grantedOre") != "15000000" {
		t.Fatalf("approved %v", sp)
	}

	p := mustCall(t, "GET", national.url+"/v1/"+programme, coord, "")
	b, _ := p["balance"].(map[string]any)
	if jsonField(b, "reservedOre") != "15000000" || jsonField(b, "availableOre") != "85000000" {
		t.Errorf("national balance after Uppsala's approval: %v, want 15000000 reserved, 85000000 available", b)
	}
	allocs := mustCall(t, "GET", national.url+"/v1/"+programme+"/allocations", coord, "")
	if a, _ := allocs["allocations"].([]any); len(a) != 1 || jsonField(a[0].(map[string]any), "subproject") != name {
		t.Errorf("national allocations: %v, want one for %s", allocs, name)
	}
	uppsala.stop(t)
	national.stop(t)
}

// TestServe_PeersNeedTLS: a deployment with peers and no TLS does not start
// unless insecure dev mode is asked for, and a bad config file is reported
// field by field together with bad flags.
func TestServe_PeersNeedTLS(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plain := write("plain.json", `{"name":"uppsala","regions":["uppsala"],"peers":[{"name":"national","address":"127.0.0.1:1","national":true}]}`)
	_, err := parseServe([]string{"-config", plain}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Errorf("peers without TLS: %v, want refused", err)
	}
	c, err := parseServe([]string{"-config", plain, "-insecure-peers"}, io.Discard)
	if err != nil {
		t.Fatalf("peers with -insecure-peers: %v", err)
	}
	if target, deployment := newConnPool(c, "127.0.0.1:2", nil, mtlsConfig{self: "uppsala"}).route("ledger"); target != "127.0.0.1:1" || deployment != "national" {
		t.Errorf("ledger routed to %s (%s), want the national peer", target, deployment)
	}
	if target, _ := newConnPool(c, "127.0.0.1:2", nil, mtlsConfig{self: "uppsala"}).route("funding"); target != "127.0.0.1:2" {
		t.Errorf("funding routed to %s, want this process", target)
	}
	if c.regions.String() != "uppsala" || c.name != "uppsala" {
		t.Errorf("file values not used: regions %s, name %q", c.regions, c.name)
	}
	c, err = parseServe([]string{"-config", plain, "-insecure-peers", "-regions", "skane", "-target", "funding,gateway"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.regions.String() != "skane" || !c.runs("funding") || c.runs("idea") {
		t.Errorf("flags over the file: regions %s, targets %v", c.regions, c.targets)
	}
	if _, err := parseServe([]string{"-config", plain, "-insecure-peers", "-target", "national"}, io.Discard); err == nil || !strings.Contains(err.Error(), "national too") {
		t.Errorf("national target with a national peer: %v, want refused", err)
	}
	c, err = parseServe([]string{"-target", "national"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The idea service runs there to relay spread ideas between regions.
	if !c.national || !c.runs("funding") || !c.runs("idea") || c.runs("gateway") {
		t.Errorf("-target national: national %v, targets %v", c.national, c.targets)
	}
	if target, _ := newConnPool(c, "127.0.0.1:2", nil, mtlsConfig{}).route("ledger"); target != "127.0.0.1:2" {
		t.Errorf("national deployment's ledger routed to %s, want its own", target)
	}

	if _, err := parseServe([]string{"-config", plain, "-insecure-peers", "-upstreams", "idea=127.0.0.1:1"}, io.Discard); err == nil || !strings.Contains(err.Error(), "is peer national") {
		t.Errorf("gateway upstream at a peer's address: %v, want refused", err)
	}

	// The national deployment on Kubernetes reaches each service of a
	// region where that service runs; the region's ledger calls reach the
	// national funding service.
	split := write("split.json", `{"name":"national","national":true,"peers":[
		{"name":"uppsala","address":"idea.up:9090","services":{"needs":"needs.up:9090","funding":"funding.up:9090"}}]}`)
	c, err = parseServe([]string{"-config", split, "-insecure-peers", "-target", "national"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	pool := newConnPool(c, "127.0.0.1:2", nil, mtlsConfig{})
	t.Cleanup(pool.close)
	for svc, want := range map[string]string{"idea": "idea.up:9090", "needs": "needs.up:9090", "funding": "funding.up:9090", "partner": "idea.up:9090"} {
		conn, deployment, err := pool.regionConn(svc, "uppsala")
		if err != nil || conn.Target() != want || deployment != "uppsala" {
			t.Errorf("uppsala's %s: %v at %s (%s), want %s", svc, err, conn.Target(), deployment, want)
		}
	}
	if _, err := parseServe([]string{"-config", split, "-insecure-peers", "-target", "national,gateway", "-upstreams", "coordinator=needs.up:9090"}, io.Discard); err == nil || !strings.Contains(err.Error(), "is peer uppsala") {
		t.Errorf("gateway upstream at a peer service's address: %v, want refused", err)
	}
	regional := write("regional.json", `{"name":"uppsala","regions":["uppsala"],"peers":[
		{"name":"national","address":"gw.national:9090","national":true,"services":{"funding":"funding.national:9090"}}]}`)
	c, err = parseServe([]string{"-config", regional, "-insecure-peers"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := newConnPool(c, "127.0.0.1:2", nil, mtlsConfig{}).route("ledger"); target != "funding.national:9090" {
		t.Errorf("ledger routed to %s, want the national funding service", target)
	}

	bad := write("bad.json", `{"name":"uppsala","colour":"blue","regions":["narnia"],"targets":["spaceship"],"peers":[{"name":"x"}]}`)
	_, err = parseServe([]string{"-config", bad, "-log-level", "loud"}, io.Discard)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"colour: unknown field", `regions[0]: unknown region "narnia"`, `"spaceship" is not a target`, "peers[0].address: required", "-log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}
