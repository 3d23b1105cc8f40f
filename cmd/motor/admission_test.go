package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/portal"
)

// TestHTTPAdmission_PortalUsersApart: behind one ingress address, each
// portal session has its own token bucket, so one busy person does not
// use up everyone's; requests without a session share the address's.
func TestHTTPAdmission_PortalUsersApart(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h := httpAdmission(ok, config.Limits{RatePerSecond: 0.001, Burst: 2, MaxInFlightHTTP: 10}, newShedCounter(nil, slog.New(slog.DiscardHandler)))
	get := func(session string) int {
		r := httptest.NewRequest("GET", "/ideas", nil)
		r.RemoteAddr = "10.0.0.7:40000" // the ingress, for everyone
		if session != "" {
			r.AddCookie(&http.Cookie{Name: portal.SessionCookie, Value: session})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		session string
		want    int
	}{
		{"anna", 200}, {"anna", 200}, {"anna", 429}, // Anna's burst is spent
		{"bertil", 200}, {"bertil", 200}, {"bertil", 429}, // Bertil has his own
		{"", 200}, {"", 200}, {"", 429}, // no session: the address's bucket
	} {
		if got := get(tc.session); got != tc.want {
			t.Errorf("session %q: %d, want %d", tc.session, got, tc.want)
		}
	}
}
