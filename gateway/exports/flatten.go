package exports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// column is one column of an export: a field of the resource, or of a
// message inside it (submitter.email), named by its JSON path.
type column struct {
	name string
	path []protoreflect.FieldDescriptor
}

var timestampName = (&timestamppb.Timestamp{}).ProtoReflect().Descriptor().FullName()

// columns lists a resource's columns in field order: singular messages are
// opened into their fields, everything else (lists, lists of messages,
// times) is one cell.
func columns(md protoreflect.MessageDescriptor) []column {
	var out []column
	var walk func(md protoreflect.MessageDescriptor, prefix string, path []protoreflect.FieldDescriptor)
	walk = func(md protoreflect.MessageDescriptor, prefix string, path []protoreflect.FieldDescriptor) {
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			p := append(append([]protoreflect.FieldDescriptor(nil), path...), fd)
			if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && fd.Message().FullName() != timestampName {
				walk(fd.Message(), prefix+fd.JSONName()+".", p)
				continue
			}
			out = append(out, column{name: prefix + fd.JSONName(), path: p})
		}
	}
	walk(md, "", nil)
	return out
}

func header(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// row renders m's cells as the API shows them: what the service redacted is
// empty here too.
func row(cols []column, m proto.Message) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		msg := m.ProtoReflect()
		ok := true
		for _, fd := range c.path[:len(c.path)-1] {
			if !msg.Has(fd) {
				ok = false
				break
			}
			msg = msg.Get(fd).Message()
		}
		if ok {
			fd := c.path[len(c.path)-1]
			out[i] = cell(fd, msg.Get(fd))
		}
	}
	return out
}

// cell renders one field: enums by name, times in RFC 3339 (UTC), lists
// joined with "; ", a list's messages as "field=value, …".
func cell(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch {
	case fd.IsList():
		l := v.List()
		parts := make([]string, l.Len())
		for i := range l.Len() {
			parts[i] = scalar(fd, l.Get(i))
		}
		return strings.Join(parts, "; ")
	case fd.IsMap():
		var parts []string
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			parts = append(parts, k.String()+"="+scalar(fd.MapValue(), mv))
			return true
		})
		return strings.Join(parts, "; ")
	}
	return scalar(fd, v)
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		m := v.Message()
		if m.Descriptor().FullName() == timestampName {
			if !m.IsValid() {
				return ""
			}
			ts := m.Interface().(*timestamppb.Timestamp)
			return ts.AsTime().UTC().Format(time.RFC3339)
		}
		var parts []string
		fields := m.Descriptor().Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			if m.Has(f) {
				parts = append(parts, f.JSONName()+"="+cell(f, m.Get(f)))
			}
		}
		return strings.Join(parts, ", ")
	case protoreflect.BytesKind:
		return fmt.Sprintf("%x", v.Bytes())
	}
	return v.String()
}
