package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// TestNotify_KillDuringBurst: kill -9 the real binary in the middle of a
// burst of 1 000 changes and start it again: every change that was
// acknowledged reaches the webhook receiver at least once, and the copies
// of one change carry one event id. Both stores.
func TestNotify_KillDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary twice and makes 1 000 changes")
	}
	bin := buildMotor(t)
	for _, b := range []struct {
		name  string
		store func(t *testing.T) []string
	}{
		{"bbolt", func(*testing.T) []string { return nil }},
		{"redis", func(t *testing.T) []string { return []string{"-store", testenv.StartRedis(t).URL()} }},
	} {
		t.Run(b.name, func(t *testing.T) {
			var mu sync.Mutex
			ids := map[string]map[string]bool{} // subject → event ids received
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var ev struct{ ID, Subject string }
				if json.Unmarshal(body, &ev) == nil && ev.Subject != "" {
					mu.Lock()
					if ids[ev.Subject] == nil {
						ids[ev.Subject] = map[string]bool{}
					}
					ids[ev.Subject][ev.ID] = true
					mu.Unlock()
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rcv.Close()

			data := t.TempDir()
			cfg := filepath.Join(t.TempDir(), "motor.json")
			// The burst comes from one caller, far above the rate the
			// admission limits allow a person: lift them for this test.
			if err := os.WriteFile(cfg, []byte(`{"name":"vasterbotten","regions":["vasterbotten"],"notify":{"webhooks":{"allowedHosts":["127.0.0.1"],"allowHTTP":true}},`+
				`"limits":{"ratePerSecond":100000,"burst":100000,"maxInFlightHTTP":1000,"maxInFlightGRPC":1000}}`), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-config", cfg, "-data", data}, b.store(t)...)
			p := startMotor(t, bin, args...)
			admin := motorToken(t, bin, data, "-role", "region_admin", "-region", "vasterbotten")
			adv := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")
			code, out := call(t, "POST", p.url+"/v1/regions/vasterbotten/webhookSubscriptions", admin,
				fmt.Sprintf(`{"url":%q,"secret":"0123456789abcdef","eventTypes":["se.innovationsmotorer.idea.created"]}`, rcv.URL+"/hook"))
			if code != 200 {
				t.Fatalf("subscribe: %d %v", code, out)
			}

			const total, killAt = 1000, 400
			var amu sync.Mutex
			acked := map[string]bool{}
			burst := func(url string, n int, kill func()) {
				var wg sync.WaitGroup
				next := make(chan int)
				for w := 0; w < 8; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for k := range next {
							req, _ := http.NewRequest("POST", url+"/v1/regions/vasterbotten/ideas",
								strings.NewReader(fmt.Sprintf(`{"title":"Idé %d","problem":"Problem %d.","origin":"ORIGIN_STAFF"}`, k, k)))
							req.Header.Set("Authorization", "Bearer "+adv)
							resp, err := http.DefaultClient.Do(req)
							if err != nil {
								continue // the process was killed under this call
							}
							var body struct{ Name string }
							_ = json.NewDecoder(resp.Body).Decode(&body)
							resp.Body.Close()
							if resp.StatusCode == 200 && body.Name != "" {
								amu.Lock()
								acked[body.Name] = true
								amu.Unlock()
							}
						}
					}()
				}
				for k := 0; k < n; k++ {
					if kill != nil && k == killAt {
						kill()
					}
					next <- k
				}
				close(next)
				wg.Wait()
			}
			var pending int
			burst(p.url, killAt+50, func() {
				if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-p.exited
				amu.Lock()
				mu.Lock()
				for name := range acked {
					if len(ids[name]) == 0 {
						pending++
					}
				}
				mu.Unlock()
				amu.Unlock()
			})
			p = startMotor(t, bin, args...)
			burst(p.url, total-killAt-50, nil)

			deadline := time.Now().Add(90 * time.Second)
			for {
				mu.Lock()
				missing := 0
				for name := range acked {
					if len(ids[name]) == 0 {
						missing++
					}
				}
				mu.Unlock()
				if missing == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d acknowledged changes never delivered\n%s", missing, len(acked), p.stderr)
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Logf("%d changes acknowledged; %d of them not yet delivered when the process was killed", len(acked), pending)
			if len(acked) < total-100 {
				t.Errorf("only %d changes acknowledged of %d", len(acked), total)
			}
			mu.Lock()
			defer mu.Unlock()
			for name, set := range ids {
				if len(set) != 1 {
					t.Errorf("%s arrived with %d different event ids: %v", name, len(set), set)
				}
			}
			p.stop(t)
		})
	}
}

// TestServe_NotifyConfigProblems: wrong notify settings stop the start
// and are named, all of them; an SMTP user without a password too.
func TestServe_NotifyConfigProblems(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name":"vasterbotten","regions":["vasterbotten"],"notify":{
		"smtp":{"host":"smtp.example","port":70000,"from":"nobody"},"offerDueSoonDays":99,"roleMail":{"uppsala":{"janitor":[]}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), []string{"serve", "-config", bad, "-data", dir}, io.Discard, io.Discard)
	for _, want := range []string{"notify.smtp.port", "notify.smtp.from", "notify.offerDueSoonDays", "notify.roleMail.uppsala.janitor"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("start with bad notify settings: %v, want %s named", err, want)
		}
	}
	user := filepath.Join(dir, "user.json")
	if err := os.WriteFile(user, []byte(`{"name":"vasterbotten","regions":["vasterbotten"],"notify":{
		"smtp":{"host":"smtp.example","port":587,"from":"motor@example.se","username":"motor"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MOTOR_SMTP_PASSWORD", "")
	// Should it start after all, it stops at the deadline and fails below.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err = run(ctx, []string{"serve", "-config", user, "-data", dir, "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MOTOR_SMTP_PASSWORD") {
		t.Errorf("SMTP user without a password: %v, want MOTOR_SMTP_PASSWORD named", err)
	}
}
