package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/rpc"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// implementedIdea takes a new idea of region r through every gate to
// IMPLEMENTED and returns it as last read.
func implementedIdea(t *testing.T, m *multiRegion, r *region) map[string]any {
	t.Helper()
	adv := m.token(t, "-role", "advisor", "-region", r.name)
	base := r.proc.url
	i := mustCall(t, "POST", base+"/v1/regions/"+r.name+"/ideas", adv,
		`{"title":"Videobesök för KOL-kontroller","problem":"Långa resor till kontroller.","origin":"ORIGIN_STAFF"}`)
	name := jsonField(i, "name")
	step := func(stage string) {
		t.Helper()
		i = mustCall(t, "POST", base+"/v1/"+name+":transition", adv, `{"stage":"`+stage+`","etag":"`+jsonField(i, "etag")+`"}`)
	}
	step("STAGE_SCREENING")
	mustCall(t, "POST", base+"/v1/"+name+"/assessments", adv, `{"patientBenefit":5,"careBenefit":4,"feasibility":4,"novelty":3,"marketPotential":3,"risk":4}`)
	i = mustCall(t, "GET", base+"/v1/"+name, adv, "")
	step("STAGE_SELECTED")
	i = mustCall(t, "PATCH", base+"/v1/"+name, adv, `{"ipOwner":"IP_OWNER_REGION","etag":"`+jsonField(i, "etag")+`"}`)
	// The legal prerequisite: a signed collaboration agreement about the idea.
	admin := m.token(t, "-role", "region_admin", "-region", r.name)
	org := mustCall(t, "POST", base+"/v1/regions/"+r.name+"/partners", adv,
		`{"displayName":"Kvarkens tekniska universitet","orgNumber":"2021996315","kind":"PARTNER_KIND_ACADEMIA"}`)
	deal := mustCall(t, "POST", base+"/v1/"+jsonField(org, "name")+"/agreements", adv,
		`{"kind":"AGREEMENT_KIND_COLLABORATION","subject":"`+name+`","validFrom":"2026-01-01","validTo":"2030-12-31"}`)
	mustCall(t, "POST", base+"/v1/"+jsonField(deal, "name")+":sign", admin, `{"etag":"`+jsonField(deal, "etag")+`"}`)
	step("STAGE_DEVELOPMENT")
	bed := mustCall(t, "POST", base+"/v1/regions/"+r.name+"/testBeds", adv,
		`{"displayName":"Innovationsklinik NUS","kind":"TEST_BED_KIND_INNOVATION_CLINIC","capacity":3}`)
	plan := mustCall(t, "POST", base+"/v1/"+name+"/testPlans", adv,
		`{"testBed":"`+jsonField(bed, "name")+`","startDate":"2026-05-01","endDate":"2026-06-30","protocol":"Tjugo patienter"}`)
	mustCall(t, "POST", base+"/v1/"+jsonField(plan, "name")+":approve", adv, `{"etag":"`+jsonField(plan, "etag")+`"}`)
	i = mustCall(t, "GET", base+"/v1/"+name, adv, "")
	step("STAGE_TESTING")
	step("STAGE_IMPLEMENTED")
	return i
}

// TestSpread_ThroughTheNationalDeployment: Västerbotten and Uppsala list
// only the national peer, the national deployment lists both. An idea
// spreads from one to the other through the national relay; a region no
// one serves is FAILED_PRECONDITION naming it; the trust rules hold on the
// way (a region's certificate adopts only for its own source ideas, and
// regions still do not trust each other directly).
func TestSpread_ThroughTheNationalDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three deployments")
	}
	m := startMultiRegion(t, func(o *multiOptions) { o.onlyNational = true })
	adv := m.token(t, "-role", "advisor", "-region", "vasterbotten")
	i := implementedIdea(t, m, m.vb)
	name := jsonField(i, "name")

	// A region that no deployment serves: a configuration gap, named.
	code, body := call(t, "POST", m.vb.proc.url+"/v1/"+name+":spread", adv, `{"targetRegion":"gotland","etag":"`+jsonField(i, "etag")+`"}`)
	if msg := jsonField(body, "message"); code != http.StatusBadRequest || !strings.Contains(msg, "gotland") || strings.Contains(msg, "127.0.0.1") {
		t.Errorf("spread to gotland: %d %v, want 400 naming gotland and no address", code, body)
	}

	spread := mustCall(t, "POST", m.vb.proc.url+"/v1/"+name+":spread", adv, `{"targetRegion":"uppsala","etag":"`+jsonField(i, "etag")+`"}`)
	to, _ := spread["spreadTo"].([]any)
	if jsonField(spread, "stage") != "STAGE_SPREAD" || len(to) != 1 || !strings.HasPrefix(to[0].(string), "regions/uppsala/ideas/") {
		t.Fatalf("after :spread: %v", spread)
	}
	adopted := mustCall(t, "GET", m.up.proc.url+"/v1/"+to[0].(string), m.token(t, "-role", "advisor", "-region", "uppsala"), "")
	if jsonField(adopted, "stage") != "STAGE_SCREENING" || jsonField(adopted, "spreadFrom") != name {
		t.Errorf("Uppsala's adopted idea: %v", adopted)
	}
	// A repeat adopts nothing twice.
	again := mustCall(t, "POST", m.vb.proc.url+"/v1/"+name+":spread", adv, `{"targetRegion":"uppsala","etag":"`+jsonField(i, "etag")+`"}`)
	if got, _ := again["spreadTo"].([]any); len(got) != 1 {
		t.Errorf("repeated spread: %v", again)
	}

	dial := func(cert, target, address string) ideav1.IdeaServiceClient {
		tc, err := rpc.ClientTLS(filepath.Join(m.certs, "ca.pem"), filepath.Join(m.certs, cert+".pem"), filepath.Join(m.certs, cert+"-key.pem"), target)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return ideav1.NewIdeaServiceClient(conn)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10e9)
	defer cancel()
	forged := &ideav1.AdoptIdeaRequest{Parent: "regions/uppsala", SpreadFrom: name,
		Idea: &ideav1.Idea{Title: "Falsk", Problem: "Falsk.", Origin: ideav1.Origin_ORIGIN_STAFF}}
	// Uppsala's certificate asks the national relay to adopt an idea
	// claiming a Västerbotten source: refused at the national gate.
	if _, err := dial("uppsala", "national", m.national.proc.grpc).AdoptIdea(ctx, forged); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Uppsala relays a Västerbotten source: %v, want PermissionDenied", err)
	}
	// Västerbotten's certificate straight to Uppsala: not a listed peer there.
	if _, err := dial("vasterbotten", "uppsala", m.up.proc.grpc).AdoptIdea(ctx, forged); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Västerbotten adopts in Uppsala directly: %v, want PermissionDenied (not a listed peer)", err)
	}
}
