package store

import (
	"fmt"
	"strings"
)

// Both backends enforce these rules through the functions below; the
// conformance suite checks that they reject the same inputs.

// ValidNamespace keeps namespaces unambiguous: ":" separates service from
// region in bucket names and braces would break the Redis hash tag.
func ValidNamespace(ns Namespace) error {
	for _, part := range []struct{ what, s string }{{"service", ns.Service}, {"region", ns.Region}} {
		if part.s == "" {
			return fmt.Errorf("invalid namespace %q: empty %s", ns.String(), part.what)
		}
		if strings.ContainsAny(part.s, ":{}\x00") {
			return fmt.Errorf("invalid namespace %q: %s contains one of \":{}\\x00\"", ns.String(), part.what)
		}
	}
	return nil
}

// validName rejects NUL because index keys are term+"\x00"+key: a NUL inside
// a term or key would make entries ambiguous and break their order.
func validName(what, s string, allowEmpty bool) error {
	if s == "" && !allowEmpty {
		return fmt.Errorf("invalid %s: empty", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("invalid %s %q: contains NUL", what, s)
	}
	return nil
}

func ValidWrite(ns Namespace, w Write) error {
	if err := ValidNamespace(ns); err != nil {
		return err
	}
	seen := make(map[string]bool, len(w.Puts))
	for _, p := range w.Puts {
		if err := validName("key", p.Key, false); err != nil {
			return err
		}
		if seen[p.Key] {
			return fmt.Errorf("invalid write: key %q appears twice", p.Key)
		}
		seen[p.Key] = true
		if p.Version < 0 {
			return fmt.Errorf("invalid put %q: negative version %d", p.Key, p.Version)
		}
		if p.Delete && p.Version == 0 {
			return fmt.Errorf("invalid delete %q: the version read is required", p.Key)
		}
		for _, e := range p.Index {
			if err := validName("index name", e.Index, false); err != nil {
				return err
			}
			if err := validName("index term", e.Term, true); err != nil {
				return err
			}
		}
	}
	if w.Idempotency != nil {
		if w.Idempotency.Key == "" {
			return fmt.Errorf("invalid idempotency: empty key")
		}
		if w.Idempotency.TTL < 0 {
			return fmt.Errorf("invalid idempotency %q: negative TTL", w.Idempotency.Key)
		}
	}
	return nil
}

func ValidQuery(ns Namespace, q Query) error {
	if err := ValidNamespace(ns); err != nil {
		return err
	}
	if err := validName("index name", q.Index, false); err != nil {
		return err
	}
	if err := validName("prefix", q.Prefix, true); err != nil {
		return err
	}
	for _, a := range q.Also {
		if len(a.Also) > 0 || a.After != "" {
			return fmt.Errorf("invalid query: an Also query takes only an index and a prefix")
		}
		if err := validName("index name", a.Index, false); err != nil {
			return err
		}
		if err := validName("prefix", a.Prefix, true); err != nil {
			return err
		}
	}
	return nil
}

// ValidKey checks a namespace and a record key for Get.
func ValidKey(ns Namespace, key string) error {
	if err := ValidNamespace(ns); err != nil {
		return err
	}
	return validName("key", key, false)
}

// PrefixEnd is the smallest string above every string with prefix: prefix
// without its trailing 0xff bytes, the last remaining byte incremented; ""
// when there is none (every string has the empty prefix).
func PrefixEnd(prefix string) string {
	end := []byte(prefix)
	for len(end) > 0 && end[len(end)-1] == 0xff {
		end = end[:len(end)-1]
	}
	if len(end) == 0 {
		return ""
	}
	end[len(end)-1]++
	return string(end)
}
