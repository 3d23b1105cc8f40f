package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe_AdmissionLimitsFromConfig: the config file's limits apply to
// the real binary: a caller past its burst gets 429 with Retry-After over
// REST, another caller does not, and the admin listener's /metrics counts the refusal.
func TestServe_AdmissionLimitsFromConfig(t *testing.T) {
	bin := buildMotor(t)
	data := t.TempDir()
	cfg := filepath.Join(data, "motor.json")
	if err := os.WriteFile(cfg, []byte(`{"name":"vasterbotten","regions":["vasterbotten"],"limits":{"ratePerSecond":0.01,"burst":3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startMotor(t, bin, "-data", data, "-demo=false", "-config", cfg)
	greedy := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten", "-sub", "greedy")
	other := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten", "-sub", "other")
	url := p.url + "/v1/regions/vasterbotten/ideas"
	for i := range 3 {
		if code, body := rawGet(t, url, greedy); code != 200 {
			t.Fatalf("call %d within the burst: %d %s", i+1, code, body)
		}
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+greedy)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("past the burst: %s Retry-After %q, want 429 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if code, body := rawGet(t, url, other); code != 200 {
		t.Errorf("another caller: %d %s, want 200", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, metrics := rawGet(t, p.admin+"/metrics", "")
		if strings.Contains(metrics, "motor_admission_refused") && strings.Contains(metrics, `reason="RATE_LIMITED"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics does not count the refusal")
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.stop(t)
}
