package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompact_ErasedNameLeavesTheFile: after a submitter is erased, the
// embedded store's file may still hold their name in freed pages; motor
// compact, run with the server stopped, leaves it behind and keeps the
// idea. While the server runs, compact refuses.
func TestCompact_ErasedNameLeavesTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data, "-demo=false")
	sub := motorToken(t, bin, data, "-role", "submitter", "-region", "uppsala", "-sub", "patient-31")
	idea := mustCall(t, "POST", p.url+"/v1/regions/uppsala/ideas", sub, `{"title":"Tolk via video","problem":"Tolken kommer sent.","origin":"ORIGIN_PATIENT",
		"submitter":{"displayName":"Signe Wallentin","email":"signe.wallentin@example.se"},"consent":{"contact":true,"storePersonalData":true}}`)
	mustCall(t, "POST", p.url+"/v1/"+jsonField(idea, "name")+":eraseSubmitter", sub, `{}`)

	if out, err := exec.Command(bin, "compact", "-data", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "stop motor serve first") {
		t.Errorf("compact while serving: %v %s, want refused", err, out)
	}
	p.stop(t)
	out, err := exec.Command(bin, "compact", "-data", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "compacted") {
		t.Fatalf("motor compact: %v %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(data, "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Signe", "Wallentin", "patient-31"} {
		if bytes.Contains(raw, []byte(n)) {
			t.Errorf("motor.db still holds %q after erasure and compaction", n)
		}
	}
	if !bytes.Contains(raw, []byte("Tolk via video")) {
		t.Error("motor.db lost the idea (or the scan is broken)")
	}
	p = startMotor(t, bin, "-data", data, "-demo=false")
	adv := motorToken(t, bin, data, "-role", "advisor", "-region", "uppsala")
	if got := mustCall(t, "GET", p.url+"/v1/"+jsonField(idea, "name"), adv, ""); jsonField(got, "title") != "Tolk via video" {
		t.Errorf("idea after compaction: %v", got)
	}
	p.stop(t)
}
