package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// TestServe_StoreOutage: while Redis is down, answers and /readyz name the
// store but never its address or a dial error; once Redis is back, /readyz
// turns ready within a fraction of the store watch's healthy interval.
func TestServe_StoreOutage(t *testing.T) {
	r := testenv.StartRedis(t)
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data, "-demo=false", "-store", r.URL())
	token := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")
	if n := listCount(t, p.url, token); n != 0 {
		t.Fatalf("fresh store lists %d ideas", n)
	}

	r.Kill()
	leaks := []string{r.Addr, "dial", "connection refused", "redis:"}
	code, body := rawGet(t, p.url+"/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/readyz with Redis down: %d %q, want 503 naming the store", code, body)
	}
	code, list := rawGet(t, p.url+"/v1/regions/vasterbotten/ideas", token)
	if code != http.StatusServiceUnavailable {
		t.Errorf("list with Redis down: %d %s, want 503", code, list)
	}
	for _, leak := range leaks {
		if strings.Contains(body, leak) || strings.Contains(list, leak) {
			t.Errorf("an answer during the outage names %q:\n/readyz: %s\nlist: %s", leak, body, list)
		}
	}
	// Let the store watch see the outage: it looks every 5 s while the
	// store answers, and reports the services NOT_SERVING until it sees
	// the store again.
	time.Sleep(6 * time.Second)

	r.Restart(t)
	back := time.Now()
	for {
		code, body := rawGet(t, p.url+"/readyz", "")
		if code == 200 {
			break
		}
		if time.Since(back) > 2500*time.Millisecond {
			t.Fatalf("/readyz still %d %q %v after Redis answered again", code, body, time.Since(back))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("ready again %v after Redis was back", time.Since(back).Round(time.Millisecond))
	p.stop(t)
}

func rawGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
