package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe_IdempotencyTTL: the config file's idempotency.ttl reaches the
// needs and partner services' repositories on the real store: a retry
// within it gets the first record, the same request id after it creates a
// new one.
func TestServe_IdempotencyTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "uppsala.json")
	// Long enough that the retry lands inside it on a loaded machine; the
	// wait below is measured from before the first create.
	const ttl = 1500 * time.Millisecond
	if err := os.WriteFile(cfg, []byte(`{"name": "uppsala", "regions": ["uppsala"], "idempotency": {"ttl": "1500ms"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildMotor(t)
	data := filepath.Join(dir, "data")
	p := startMotor(t, bin, "-config", cfg, "-data", data, "-demo=false", "-target", "idea,needs,partner,gateway")
	adv := motorToken(t, bin, data, "-role", "advisor", "-region", "uppsala")

	creates := []struct{ what, path, body string }{
		{"need", "/v1/regions/uppsala/needs?requestId=form-7", `{"problem":"beställa material i tid","population":"vårdavdelningar","outcome":"inget tar slut","reportedBy":"ORIGIN_STAFF"}`},
		{"partner", "/v1/regions/uppsala/partners?requestId=form-7", `{"displayName":"Kvarkens tekniska universitet","orgNumber":"202199-6315","kind":"PARTNER_KIND_ACADEMIA"}`},
	}
	start := time.Now()
	first := map[string]string{}
	for _, c := range creates {
		got := mustCall(t, "POST", p.url+c.path, adv, c.body)
		first[c.what] = jsonField(got, "name")
		again := mustCall(t, "POST", p.url+c.path, adv, c.body)
		if name := jsonField(again, "name"); name != first[c.what] {
			t.Fatalf("%s: retry within the TTL created %s, want the first %s", c.what, name, first[c.what])
		}
	}
	time.Sleep(time.Until(start.Add(ttl + 300*time.Millisecond)))
	// After the TTL the same request is a first create again: a new need,
	// and for the partner the organisation number's uniqueness rule (a
	// replay would have answered 200 with the first partner).
	later := mustCall(t, "POST", p.url+creates[0].path, adv, creates[0].body)
	if name := jsonField(later, "name"); name == first["need"] {
		t.Errorf("need: request id still answered with %s after its TTL of %v", name, ttl)
	}
	code, body := call(t, "POST", p.url+creates[1].path, adv, creates[1].body)
	if code != 409 || !strings.Contains(fmt.Sprint(body), "ORG_NUMBER_EXISTS") {
		t.Errorf("partner: %d %v after the TTL, want 409 ORG_NUMBER_EXISTS (a create, not a replay)", code, body)
	}
	p.stop(t)
}

// A bad TTL stops start-up naming the field, in the file and on the
// command line.
func TestServe_BadIdempotencyTTL(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name": "uppsala", "regions": ["uppsala"], "idempotency": {"ttl": "-5m"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseServe([]string{"-config", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "idempotency.ttl: -5m0s is not a duration above 0") {
		t.Errorf("negative TTL in the file: %v, want refused naming idempotency.ttl", err)
	} else if strings.Contains(err.Error(), "-idempotency-ttl") {
		t.Errorf("the file's bad TTL is reported twice: %v", err)
	}
	for _, arg := range []string{"0s", "200h"} {
		if _, err := parseServe([]string{"-idempotency-ttl", arg}, io.Discard); err == nil || !strings.Contains(err.Error(), "-idempotency-ttl: ") {
			t.Errorf("-idempotency-ttl %s: %v, want refused naming the flag", arg, err)
		}
	}
	// The flag wins over the file; the file over the default.
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"name": "uppsala", "regions": ["uppsala"], "idempotency": {"ttl": "2h"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 24 * time.Hour},
		{[]string{"-config", good}, 2 * time.Hour},
		{[]string{"-config", good, "-idempotency-ttl", "30m"}, 30 * time.Minute},
	} {
		c, err := parseServe(tc.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if c.idempotencyTTL != tc.want {
			t.Errorf("%v: TTL %v, want %v", tc.args, c.idempotencyTTL, tc.want)
		}
	}
}
