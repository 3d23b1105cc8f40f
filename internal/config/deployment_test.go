package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeConfig writes body as a config file next to three empty PEM files.
func writeConfig(t testing.TB, body string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "uppsala.pem", "uppsala-key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "motor.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDeployment_Valid(t *testing.T) {
	path := writeConfig(t, `{
		"name": "uppsala",
		"regions": ["uppsala"],
		"targets": ["all"],
		"http": "127.0.0.1:8081",
		"grpc": "127.0.0.1:9091",
		"data": "data/uppsala",
		"store": "bbolt",
		"tls": {"ca": "ca.pem", "cert": "uppsala.pem", "key": "uppsala-key.pem"},
		"peers": [
			{"name": "national", "address": "127.0.0.1:9090", "national": true},
			{"name": "vasterbotten", "address": "127.0.0.1:9092", "services": {"needs": "127.0.0.1:9093"}}
		],
		"devKey": "devkey",
		"weights": {"uppsala": {"assessment": {"patientBenefit": 3, "risk": 0}, "screening": {"clinicalImpact": 2.5}}}
	}`)
	d, err := LoadDeployment(path)
	if err != nil {
		t.Fatalf("LoadDeployment: %v", err)
	}
	dir := filepath.Dir(path)
	want := Deployment{
		Name: "uppsala", Regions: []string{"uppsala"}, Targets: []string{"all"},
		HTTP: "127.0.0.1:8081", GRPC: "127.0.0.1:9091", Data: filepath.Join(dir, "data/uppsala"), Store: "bbolt",
		TLS: TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "uppsala.pem"), Key: filepath.Join(dir, "uppsala-key.pem")},
		Peers: []Peer{
			{Name: "national", Address: "127.0.0.1:9090", National: true},
			{Name: "vasterbotten", Address: "127.0.0.1:9092", Services: map[string]string{"needs": "127.0.0.1:9093"}},
		},
		DevKey: filepath.Join(dir, "devkey"),
		Weights: map[string]RegionWeights{"uppsala": {
			Assessment: map[string]float64{"patientBenefit": 3, "risk": 0},
			Screening:  map[string]float64{"clinicalImpact": 2.5},
		}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("LoadDeployment (-want +got):\n%s", diff)
	}
	if p, ok := NationalPeer(d.Peers); !ok || p.Name != "national" {
		t.Errorf("NationalPeer = %v, %v", p, ok)
	}
	if got := d.Peers[1].ServedRegions(); !cmp.Equal(got, []string{"vasterbotten"}) {
		t.Errorf("a peer named after a region serves %v, want [vasterbotten]", got)
	}
	if got := [2]string{d.Peers[1].AddressOf("needs"), d.Peers[1].AddressOf("partner")}; got != [2]string{"127.0.0.1:9093", "127.0.0.1:9092"} {
		t.Errorf("vasterbotten's needs and partner services at %v, want the needs address and the peer's", got)
	}
}

// TestLoadDeployment_Problems: one load names every wrong field, so one edit
// fixes the file.
func TestLoadDeployment_Problems(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string // each must appear in the error
	}{
		{"not JSON", `{"name": `, []string{"not a JSON object"}},
		{"not an object", `[]`, []string{"not a JSON object"}},
		{"unknown fields everywhere", `{"name":"uppsala","colour":"blue","tls":{"ca":"ca.pem","cert":"uppsala.pem","key":"uppsala-key.pem","pin":"x"},"peers":[{"name":"national","address":"h:1","port":1}]}`,
			[]string{"colour: unknown field", "tls.pin: unknown field", "peers[0].port: unknown field"}},
		{"wrong types", `{"name":7,"national":"yes","regions":"uppsala","peers":{}}`,
			[]string{"name: want string", "national: want bool", "regions: want []string", "peers: want a JSON array"}},
		{"missing name", `{"regions":["uppsala"]}`, []string{"name: required"}},
		{"bad values", `{"name":"Upp sala","regions":["uppsala","narnia","uppsala"],"targets":["idea,needs",""],"http":"8080","grpc":"localhost","store":"mysql://x"}`,
			[]string{`name: "Upp sala" is not a DNS label`, `regions[1]: unknown region "narnia"`, `regions[2]: "uppsala" is listed twice`,
				`targets[0]: "idea,needs"`, `targets[1]: ""`, `http: "8080" is not host:port`, `grpc: "localhost" is not host:port`, "store: "}},
		{"partial TLS and missing files", `{"name":"uppsala","tls":{"cert":"nowhere.pem"}}`,
			[]string{"tls.ca: required", "tls.key: required", "tls.cert: stat"}},
		{"bad peers", `{"name":"uppsala","peers":[
				{"address":"h:1"},
				{"name":"uppsala","address":"h:2"},
				{"name":"a","address":"nohost"},
				{"name":"a","address":"h:4","regions":["narnia"]},
				{"name":"national","address":"h:5","national":true,"regions":["uppsala"]},
				{"name":"riks","address":"h:6","national":true},
				{"name":"b","address":"h:7","services":{"ideas":"h:8","needs":"h"}}]}`,
			[]string{"peers[0].name: required", `peers[1].name: "uppsala" is this deployment itself`, `peers[2].address: "nohost" is not host:port`,
				`peers[3].name: "a" is listed twice`, `peers[3].regions[0]: unknown region "narnia"`,
				"peers[4].regions: the national deployment serves no region", "2 national peers (national, riks)",
				"peers[6].services.ideas: not a service", `peers[6].services.needs: "h" is not host:port`}},
		{"bad weights", `{"name":"uppsala","weights":{
				"narnia":{},
				"uppsala":{"assessment":{"patientBenefit":-1,"charm":2},"screening":{"clinicalImpact":0,"patientsAffected":0,"problemCost":0,"strategicFit":0,"feasibility":0},"colour":1},
				"skane":{"assessment":{"novelty":"high"}}}}`,
			[]string{"weights.narnia: unknown region", "weights.uppsala.assessment.patientBenefit: -1 is not a weight", "weights.uppsala.assessment.charm: not a criterion",
				"weights.uppsala.screening: every weight is 0", "weights.uppsala.colour: unknown field", `weights.skane.assessment.novelty: want a number, got JSON "high"`}},
		{"bad cors", `{"name":"uppsala","cors":{"allowedOrigins":["*","portal.example.se","https://p.example.se/x"],"allowCredentials":true,"maxAgeSeconds":-1,"headers":[]}}`,
			[]string{`cors.allowedOrigins: "*" cannot be combined with allowCredentials`, `cors.allowedOrigins[1]: "portal.example.se" is not an origin`,
				`cors.allowedOrigins[2]: "https://p.example.se/x" is not an origin`, "cors.maxAgeSeconds: must not be negative", "cors.headers: unknown field"}},
		{"national with a national peer", `{"name":"national","national":true,"peers":[{"name":"riks","address":"h:1","national":true}]}`,
			[]string{"this deployment is the national one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDeployment(writeConfig(t, tc.body))
			var pe *ProblemsError
			if !errors.As(err, &pe) {
				t.Fatalf("LoadDeployment: %v, want a *ProblemsError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadDeployment_CORS(t *testing.T) {
	d, err := LoadDeployment(writeConfig(t, `{"name":"uppsala"}`))
	if err != nil || len(d.CORS.AllowedOrigins) != 0 {
		t.Fatalf("default CORS: %+v, %v; want no origin allowed", d.CORS, err)
	}
	d, err = LoadDeployment(writeConfig(t, `{"name":"uppsala","cors":{"allowedOrigins":["https://portal.example.se","http://localhost:5173"],"allowCredentials":true,"maxAgeSeconds":60}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := CORS{AllowedOrigins: []string{"https://portal.example.se", "http://localhost:5173"}, AllowCredentials: true, MaxAgeSeconds: 60}
	if diff := cmp.Diff(want, d.CORS); diff != "" {
		t.Errorf("cors (-want +got):\n%s", diff)
	}
}

func TestLoadDeployment_MissingFile(t *testing.T) {
	_, err := LoadDeployment(filepath.Join(t.TempDir(), "none.json"))
	var pe *ProblemsError
	if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), "config.LoadDeployment") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "motor.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d, err := LoadDeployment(write(`{"name":"uppsala","regions":["uppsala"],"limits":{"ratePerSecond":5,"maxInFlightHTTP":10,"defaultTimeout":"3s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := d.Limits.WithDefaults()
	want := DefaultLimits()
	want.RatePerSecond, want.MaxInFlightHTTP, want.DefaultTimeout = 5, 10, Duration(3*time.Second)
	if got != want {
		t.Errorf("limits %+v, want %+v", got, want)
	}

	_, err = LoadDeployment(write(`{"name":"uppsala","regions":["uppsala"],"limits":{"burst":-1,"defaultTimeout":"soon","maxQueue":3}}`))
	for _, want := range []string{"limits.burst", "limits.defaultTimeout", "limits.maxQueue"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad limits: %v, want a problem naming %s", err, want)
		}
	}
}
