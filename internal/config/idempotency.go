package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Idempotency is how long a create's request_id (Idempotency-Key) is
// answered with its first result.
type Idempotency struct {
	// TTL is the key's time to live from its first write; zero or absent
	// means DefaultIdempotencyTTL.
	TTL Duration `json:"ttl"`
}

// DefaultIdempotencyTTL is a day, as AIP-155 and common practice suggest:
// long enough for any client's retries, short enough that keys do not pile
// up in a store that never evicts.
const DefaultIdempotencyTTL = 24 * time.Hour

// MaxIdempotencyTTL bounds the TTL: a key exists for a retry, not as a
// record, and each one holds a hash of its caller until it expires.
const MaxIdempotencyTTL = 7 * 24 * time.Hour

// TTLOrDefault is the TTL to use: the configured one, else the default.
func (i Idempotency) TTLOrDefault() time.Duration {
	if i.TTL == 0 {
		return DefaultIdempotencyTTL
	}
	return time.Duration(i.TTL)
}

// CheckIdempotencyTTL reports a TTL that is not positive or above
// MaxIdempotencyTTL; the flag and the file share it.
func CheckIdempotencyTTL(ttl time.Duration) error {
	if ttl <= 0 || ttl > MaxIdempotencyTTL {
		return fmt.Errorf("%v is not a duration above 0 and at most %v", ttl, MaxIdempotencyTTL)
	}
	return nil
}

// parseIdempotency decodes the "idempotency" member, naming every bad
// field. A ttl given explicitly must be valid, 0 included: absent is the
// way to ask for the default.
func parseIdempotency(problems *[]string, raw json.RawMessage) Idempotency {
	var i Idempotency
	m := members(problems, "idempotency.", raw, []string{"ttl"})
	if v, ok := m["ttl"]; ok {
		before := len(*problems)
		field(problems, "idempotency.ttl", v, &i.TTL)
		if len(*problems) == before {
			if err := CheckIdempotencyTTL(time.Duration(i.TTL)); err != nil {
				*problems = append(*problems, "idempotency.ttl: "+err.Error())
				i.TTL = 0
			}
		}
	}
	return i
}
