package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDeployment_IdempotencyTTL(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       time.Duration
	}{
		{"absent", `{"name": "uppsala"}`, DefaultIdempotencyTTL},
		{"empty object", `{"name": "uppsala", "idempotency": {}}`, DefaultIdempotencyTTL},
		{"set", `{"name": "uppsala", "idempotency": {"ttl": "90m"}}`, 90 * time.Minute},
		{"at the bound", `{"name": "uppsala", "idempotency": {"ttl": "168h"}}`, MaxIdempotencyTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDeployment([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Idempotency.TTLOrDefault(); got != tc.want {
				t.Errorf("TTL %v, want %v", got, tc.want)
			}
		})
	}
}

// Every bad TTL is named by its field, next to the other problems of the
// file.
func TestParseDeployment_BadIdempotencyTTL(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"zero", `"0s"`, "idempotency.ttl: 0s is not a duration above 0"},
		{"negative", `"-1h"`, "idempotency.ttl: -1h0m0s is not a duration above 0"},
		{"too long", `"169h"`, "idempotency.ttl: 169h0m0s is not a duration above 0 and at most 168h0m0s"},
		{"not a duration", `"a day"`, "idempotency.ttl: want a duration string"},
		{"a number", `86400`, "idempotency.ttl: want a duration string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDeployment([]byte(`{"name": "uppsala", "http": "nowhere", "idempotency": {"ttl": ` + tc.value + `}}`))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "http:") {
				t.Errorf("error %q, want %q beside the http problem", err, tc.want)
			}
		})
	}
	_, err := ParseDeployment([]byte(`{"name": "uppsala", "idempotency": {"ttl": "1h", "max": 3}}`))
	if err == nil || !strings.Contains(err.Error(), "idempotency.max: unknown field") {
		t.Errorf("unknown member: %v", err)
	}
}
