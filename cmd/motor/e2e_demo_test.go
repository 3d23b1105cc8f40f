package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/config"
)

// TestDemo_EveryRegionAndTheLegalGate: a deployment of all 21 regions seeds
// each with ideas, needs and partners; Västerbotten's workshop idea has a
// signed collaboration agreement about it and has passed the DEVELOPMENT
// gate on it.
func TestDemo_EveryRegionAndTheLegalGate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data, "-regions", strings.Join(config.RegionIDs(), ","))
	for _, region := range config.RegionIDs() {
		advisor := motorToken(t, bin, data, "-role", "advisor", "-region", region)
		for _, coll := range []string{"ideas", "needs", "partners"} {
			code, body := call(t, "GET", fmt.Sprintf("%s/v1/regions/%s/%s?pageSize=100", p.url, region, coll), advisor, "")
			if list, _ := body[coll].([]any); code != 200 || len(list) < 2 {
				t.Errorf("%s %s: %d, %d of them, want at least 2", region, coll, code, len(list))
			}
		}
	}

	advisor := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")
	code, body := call(t, "GET", p.url+"/v1/regions/vasterbotten/ideas?pageSize=100", advisor, "")
	var gated map[string]any
	for _, i := range body["ideas"].([]any) {
		if m := i.(map[string]any); m["title"] == "Gemensam överrapportering mellan ambulans och akuten" {
			gated = m
		}
	}
	if code != 200 || gated == nil || gated["stage"] != "STAGE_DEVELOPMENT" || gated["agreementsInPlace"] != true {
		t.Fatalf("the workshop's idea: %d %v, want it in STAGE_DEVELOPMENT with agreementsInPlace", code, gated)
	}
	filter := url.QueryEscape(fmt.Sprintf("subject = %q", gated["name"]))
	code, body = call(t, "GET", p.url+"/v1/regions/vasterbotten/partners/-/agreements?filter="+filter, advisor, "")
	list, _ := body["agreements"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("its agreements: %d %v", code, body)
	}
	if a := list[0].(map[string]any); a["kind"] != "AGREEMENT_KIND_COLLABORATION" || a["state"] != "AGREEMENT_STATE_ACTIVE" || a["signedTime"] == nil {
		t.Errorf("its agreement: %v, want a signed, active collaboration", a)
	}
}
