package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// A record's value is an envelope in the protobuf wire format:
//
//	1  schema version (varint); this code writes 1
//	2  the resource, binary protobuf
//	3  owner: the subject of the person the record belongs to
//	4  one count per occurrence: {1 name, 2 value (varint)}
//	5  what the service keeps beside the resource (Config.Side), binary protobuf
//
// Binary protobuf keeps the fields a newer schema added as unknown fields
// through Unmarshal and Marshal, and the envelope keeps its own unknown
// fields the same way, so a record written by a newer replica survives a
// change by an older one. Records written before the envelope are protojson
// (they start with '{') and are read as Legacy says.
const schemaVersion = 1

const (
	fieldSchema  protowire.Number = 1
	fieldMessage protowire.Number = 2
	fieldOwner   protowire.Number = 3
	fieldCount   protowire.Number = 4
	fieldSide    protowire.Number = 5
)

// Legacy says how records written as protojson are read.
type Legacy struct {
	// Wrapped names the JSON member holding the resource, next to an
	// "owner" string and number members that become counts; the other
	// members are read into the side message (Config.Side). "" means the
	// whole value is the resource.
	Wrapped string
}

// envelope is a decoded value.
type envelope struct {
	owner   string
	counts  map[string]int64
	unknown []byte // fields of a newer envelope, written back as they came
	legacy  bool
}

func encode(msg, side proto.Message, env envelope) ([]byte, error) {
	opts := proto.MarshalOptions{Deterministic: true}
	body, err := opts.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("proto.Marshal: %w", err)
	}
	b := protowire.AppendTag(nil, fieldSchema, protowire.VarintType)
	b = protowire.AppendVarint(b, schemaVersion)
	b = protowire.AppendTag(b, fieldMessage, protowire.BytesType)
	b = protowire.AppendBytes(b, body)
	if env.owner != "" {
		b = protowire.AppendTag(b, fieldOwner, protowire.BytesType)
		b = protowire.AppendString(b, env.owner)
	}
	names := make([]string, 0, len(env.counts))
	for n := range env.counts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		var c []byte
		c = protowire.AppendTag(c, 1, protowire.BytesType)
		c = protowire.AppendString(c, n)
		c = protowire.AppendTag(c, 2, protowire.VarintType)
		c = protowire.AppendVarint(c, uint64(env.counts[n]))
		b = protowire.AppendTag(b, fieldCount, protowire.BytesType)
		b = protowire.AppendBytes(b, c)
	}
	if side != nil {
		sb, err := opts.Marshal(side)
		if err != nil {
			return nil, fmt.Errorf("proto.Marshal: %w", err)
		}
		b = protowire.AppendTag(b, fieldSide, protowire.BytesType)
		b = protowire.AppendBytes(b, sb)
	}
	return append(b, env.unknown...), nil
}

// isLegacy tells protojson from an envelope: an envelope starts with the
// tag of field 1 (0x08), JSON with '{' or a blank.
func isLegacy(value []byte) bool {
	trimmed := strings.TrimLeft(string(value[:min(len(value), 16)]), " \t\r\n")
	return strings.HasPrefix(trimmed, "{")
}

func decode(value []byte, msg, side proto.Message, legacy Legacy) (envelope, error) {
	if isLegacy(value) {
		return decodeLegacy(value, msg, side, legacy)
	}
	var env envelope
	var body, sideBody []byte
	for b := value; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return env, fmt.Errorf("envelope: %w", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return env, fmt.Errorf("envelope field %d: %w", num, protowire.ParseError(m))
		}
		field := b[n : n+m]
		switch {
		case num == fieldSchema && typ == protowire.VarintType:
			// Every version reads the fields it knows; nothing to do.
		case num == fieldMessage && typ == protowire.BytesType:
			body, _ = protowire.ConsumeBytes(field)
		case num == fieldSide && typ == protowire.BytesType && side != nil:
			sideBody, _ = protowire.ConsumeBytes(field)
		case num == fieldOwner && typ == protowire.BytesType:
			s, _ := protowire.ConsumeString(field)
			env.owner = s
		case num == fieldCount && typ == protowire.BytesType:
			c, _ := protowire.ConsumeBytes(field)
			name, v, err := decodeCount(c)
			if err != nil {
				return env, err
			}
			if env.counts == nil {
				env.counts = map[string]int64{}
			}
			env.counts[name] = v
		default:
			env.unknown = append(env.unknown, b[:n+m]...)
		}
		b = b[n+m:]
	}
	if err := proto.Unmarshal(body, msg); err != nil {
		return env, fmt.Errorf("proto.Unmarshal: %w", err)
	}
	if side != nil {
		if err := proto.Unmarshal(sideBody, side); err != nil {
			return env, fmt.Errorf("proto.Unmarshal side: %w", err)
		}
	}
	return env, nil
}

func decodeCount(b []byte) (string, int64, error) {
	var name string
	var v int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", 0, errors.New("envelope: corrupt count")
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return "", 0, errors.New("envelope: corrupt count")
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			name, _ = protowire.ConsumeString(b[n : n+m])
		case num == 2 && typ == protowire.VarintType:
			u, _ := protowire.ConsumeVarint(b[n : n+m])
			v = int64(u)
		}
		b = b[n+m:]
	}
	return name, v, nil
}

// decodeLegacy reads protojson as the code before the envelope wrote it.
// Unknown members are dropped: that code never wrote any.
func decodeLegacy(value []byte, msg, side proto.Message, legacy Legacy) (envelope, error) {
	env := envelope{legacy: true}
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	if legacy.Wrapped == "" {
		if err := opts.Unmarshal(value, msg); err != nil {
			return env, fmt.Errorf("legacy record: %w", err)
		}
		return env, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(value, &members); err != nil {
		return env, fmt.Errorf("legacy record: %w", err)
	}
	rest := map[string]json.RawMessage{}
	for name, raw := range members {
		switch name {
		case legacy.Wrapped:
			if err := opts.Unmarshal(raw, msg); err != nil {
				return env, fmt.Errorf("legacy record %s: %w", name, err)
			}
		case "owner":
			if err := json.Unmarshal(raw, &env.owner); err != nil {
				return env, fmt.Errorf("legacy record owner: %w", err)
			}
		default:
			var n int64
			if json.Unmarshal(raw, &n) == nil {
				if env.counts == nil {
					env.counts = map[string]int64{}
				}
				env.counts[name] = n
				continue
			}
			rest[name] = raw
		}
	}
	if side != nil && len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err != nil {
			return env, fmt.Errorf("legacy record: %w", err)
		}
		if err := opts.Unmarshal(b, side); err != nil {
			return env, fmt.Errorf("legacy record side: %w", err)
		}
	}
	return env, nil
}
