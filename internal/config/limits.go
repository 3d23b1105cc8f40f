package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Limits are a deployment's admission limits: how much one caller may ask
// for, how much the process takes on at once, and how long a call may run
// when its caller set no deadline. A zero field takes its default.
type Limits struct {
	// RatePerSecond is the steady rate of calls one identity (a token's
	// subject, a peer deployment, or an address without a token) may make.
	RatePerSecond float64 `json:"ratePerSecond"`
	// Burst is how many calls above the steady rate one identity may make
	// at once.
	Burst int `json:"burst"`
	// PeerFactor multiplies rate and burst for other deployments' own
	// identities: one coordinator's dashboard is many calls.
	PeerFactor float64 `json:"peerFactor"`
	// MaxInFlightHTTP is how many HTTP requests the process serves at once;
	// more are answered 503 at once.
	MaxInFlightHTTP int `json:"maxInFlightHTTP"`
	// MaxInFlightGRPC is the same for gRPC calls.
	MaxInFlightGRPC int `json:"maxInFlightGRPC"`
	// DefaultTimeout is the deadline the gateway gives a REST call that
	// carries no Grpc-Timeout.
	DefaultTimeout Duration `json:"defaultTimeout"`
}

// DefaultLimits fit a small region on two cores and a 512 MiB pod.
func DefaultLimits() Limits {
	return Limits{
		RatePerSecond:   20,
		Burst:           40,
		PeerFactor:      20,
		MaxInFlightHTTP: 32,
		MaxInFlightGRPC: 64,
		DefaultTimeout:  Duration(15 * time.Second),
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.RatePerSecond == 0 {
		l.RatePerSecond = d.RatePerSecond
	}
	if l.Burst == 0 {
		l.Burst = d.Burst
	}
	if l.PeerFactor == 0 {
		l.PeerFactor = d.PeerFactor
	}
	if l.MaxInFlightHTTP == 0 {
		l.MaxInFlightHTTP = d.MaxInFlightHTTP
	}
	if l.MaxInFlightGRPC == 0 {
		l.MaxInFlightGRPC = d.MaxInFlightGRPC
	}
	if l.DefaultTimeout == 0 {
		l.DefaultTimeout = d.DefaultTimeout
	}
	return l
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("15s", "500ms").
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"15s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration string like \"15s\": %v", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

var limitFields = []string{"ratePerSecond", "burst", "peerFactor", "maxInFlightHTTP", "maxInFlightGRPC", "defaultTimeout"}

// parseLimits decodes the "limits" member, naming every bad field.
func parseLimits(problems *[]string, raw json.RawMessage) Limits {
	var l Limits
	m := members(problems, "limits.", raw, limitFields)
	dst := map[string]any{
		"ratePerSecond": &l.RatePerSecond, "burst": &l.Burst, "peerFactor": &l.PeerFactor,
		"maxInFlightHTTP": &l.MaxInFlightHTTP, "maxInFlightGRPC": &l.MaxInFlightGRPC, "defaultTimeout": &l.DefaultTimeout,
	}
	for _, k := range limitFields {
		if v, ok := m[k]; ok {
			field(problems, "limits."+k, v, dst[k])
		}
	}
	return l
}

// check reports limits that are negative.
func (l Limits) check() []string {
	var problems []string
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"burst", l.Burst < 0},
		{"defaultTimeout", l.DefaultTimeout < 0},
		{"maxInFlightGRPC", l.MaxInFlightGRPC < 0},
		{"maxInFlightHTTP", l.MaxInFlightHTTP < 0},
		{"peerFactor", l.PeerFactor < 0},
		{"ratePerSecond", l.RatePerSecond < 0},
	} {
		if f.bad {
			problems = append(problems, fmt.Sprintf("limits.%s: must not be negative (0 or absent means the default)", f.name))
		}
	}
	return problems
}
