package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Envelope fields of the services' typed repository: a record is binary
// protobuf with the resource in field 2 and its owner's subject in field 3.
const (
	envelopeMessage protowire.Number = 2
	envelopeOwner   protowire.Number = 3
	envelopeSide    protowire.Number = 5 // what a service keeps beside the resource
)

// readSide decodes what another service keeps beside the resource in its
// record (an idea's history) into side: envelope field 5, or the members
// next to the wrapped resource and its owner in protojson.
func readSide(value []byte, side proto.Message, wrapped string) error {
	lenient := protojson.UnmarshalOptions{DiscardUnknown: true}
	if v := bytes.TrimSpace(value); len(v) > 0 && v[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		delete(m, wrapped)
		delete(m, "owner")
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		return lenient.Unmarshal(b, side)
	}
	for b := value; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("record envelope: %w", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return fmt.Errorf("record envelope: %w", protowire.ParseError(m))
		}
		if num == envelopeSide && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[n : n+m])
			return proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(v, side)
		}
		b = b[n+m:]
	}
	return nil
}

// readRecord decodes another service's record into msg and returns its
// owner: the repository's envelope, or the protojson of records written
// before it, the resource alone (wrapped "") or in the member wrapped next
// to an "owner" string. Unknown fields are skipped: the notification
// service reads only what it tells.
func readRecord(value []byte, msg proto.Message, wrapped string) (string, error) {
	if v := bytes.TrimSpace(value); len(v) > 0 && v[0] == '{' {
		return readLegacy(v, msg, wrapped)
	}
	var owner string
	b := value
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", fmt.Errorf("record envelope: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == envelopeMessage || num == envelopeOwner) {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", fmt.Errorf("record envelope: %w", protowire.ParseError(m))
			}
			if num == envelopeOwner {
				owner = string(v)
			} else if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(v, msg); err != nil {
				return "", fmt.Errorf("record envelope: %w", err)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return "", fmt.Errorf("record envelope: %w", protowire.ParseError(m))
		}
		b = b[m:]
	}
	return owner, nil
}

func readLegacy(value []byte, msg proto.Message, wrapped string) (string, error) {
	lenient := protojson.UnmarshalOptions{DiscardUnknown: true}
	if wrapped == "" {
		return "", lenient.Unmarshal(value, msg)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(value, &m); err != nil {
		return "", err
	}
	var owner string
	if raw, ok := m["owner"]; ok {
		if err := json.Unmarshal(raw, &owner); err != nil {
			return "", err
		}
	}
	raw, ok := m[wrapped]
	if !ok {
		return "", errors.New("record has no " + wrapped)
	}
	return owner, lenient.Unmarshal(raw, msg)
}
