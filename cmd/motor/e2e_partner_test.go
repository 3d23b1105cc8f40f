package main

import (
	"fmt"
	"testing"
)

// TestServe_PartnerDemoContent: the all-in-one run seeds partners,
// agreements and an offer per region; the demo offer is matched to the
// region's published needs over gRPC when it is sent, with a dev token of
// the demo company user, so it is stored matched (etag 1: no later read had
// to match it); a company user sees only their own offers; a restart seeds
// nothing twice.
func TestServe_PartnerDemoContent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data)
	for _, region := range []string{"vasterbotten", "uppsala"} {
		advisor := motorToken(t, bin, data, "-role", "advisor", "-region", region)
		code, body := call(t, "GET", p.url+"/v1/regions/"+region+"/partners", advisor, "")
		partners, _ := body["partners"].([]any)
		if code != 200 || len(partners) != 5 {
			t.Fatalf("%s: %d demo partners (%d %v), want 5", region, len(partners), code, body)
		}
		kinds := map[any]bool{}
		for _, x := range partners {
			kinds[x.(map[string]any)["kind"]] = true
		}
		for _, k := range []string{"PARTNER_KIND_COMPANY", "PARTNER_KIND_ACADEMIA", "PARTNER_KIND_PATIENT_ORGANISATION", "PARTNER_KIND_INNOVATION_SUPPORT"} {
			if !kinds[k] {
				t.Errorf("%s: no demo partner of kind %s", region, k)
			}
		}

		code, body = call(t, "GET", p.url+"/v1/regions/"+region+"/offers", advisor, "")
		offers, _ := body["offers"].([]any)
		if code != 200 || len(offers) != 1 {
			t.Fatalf("%s: %d demo offers (%d %v), want 1", region, len(offers), code, body)
		}
		offer := offers[0].(map[string]any)
		code, got := call(t, "GET", p.url+"/v1/"+fmt.Sprint(offer["name"]), advisor, "")
		matched, _ := got["matchedNeeds"].([]any)
		if code != 200 || got["matchingPending"] == true || len(matched) == 0 || got["etag"] != "1" {
			t.Errorf("%s: demo offer: %d %v, want it stored matched to a published need", region, code, got)
		}

		owner := fmt.Sprint(offer["partner"])
		company := motorToken(t, bin, data, "-role", "partner", "-region", region, "-partner", owner)
		if code, body := call(t, "GET", p.url+"/v1/regions/"+region+"/offers", company, ""); code != 200 || len(body["offers"].([]any)) != 1 {
			t.Errorf("%s: the offering company lists %d %v", region, code, body)
		}
		stranger := motorToken(t, bin, data, "-role", "partner", "-region", region, "-partner", "regions/"+region+"/partners/someone-else")
		if code, body := call(t, "GET", p.url+"/v1/regions/"+region+"/offers", stranger, ""); code != 200 || body["offers"] != nil {
			t.Errorf("%s: another company lists %d %v, want nothing", region, code, body)
		}
		if code, _ := call(t, "GET", p.url+"/v1/"+fmt.Sprint(offer["name"]), stranger, ""); code != 404 {
			t.Errorf("%s: another company reads the offer: %d, want 404", region, code)
		}
		code, body = call(t, "GET", p.url+"/v1/"+owner+"/agreements", company, "")
		if agreements, _ := body["agreements"].([]any); code != 200 || len(agreements) == 0 {
			t.Errorf("%s: the company's agreements: %d %v", region, code, body)
		}
	}
	p.stop(t)

	p = startMotor(t, bin, "-data", data)
	advisor := motorToken(t, bin, data, "-role", "advisor", "-region", "uppsala")
	if code, body := call(t, "GET", p.url+"/v1/regions/uppsala/partners", advisor, ""); code != 200 || len(body["partners"].([]any)) != 5 {
		t.Errorf("after restart: %d %v, want the same 5 partners", code, body)
	}
	p.stop(t)
}
