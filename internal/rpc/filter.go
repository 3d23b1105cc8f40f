package rpc

import (
	"strings"
	"unicode"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

// checkRequest refuses a list filter holding a control character (NUL
// above all: index keys are term+NUL+key) as INVALID_ARGUMENT naming the
// field, for every List of every service at once, before any parser or
// store sees it.
func checkRequest(req any, method string) error {
	if m, ok := req.(proto.Message); ok {
		return checkFilter(m.ProtoReflect(), method)
	}
	return nil
}

func checkFilter(m protoreflect.Message, method string) error {
	fd := m.Descriptor().Fields().ByName("filter")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil
	}
	v := m.Get(fd).String()
	i := strings.IndexFunc(v, unicode.IsControl)
	if i < 0 {
		return nil
	}
	var violations errs.Violations
	violations.Add(fd.JSONName(), "contains a control character (U+%04X) at byte %d; filter values are printable text", []rune(v[i:])[0], i)
	return violations.Err(methodDomain(method))
}

// methodDomain is the ErrorInfo domain of a method's service:
// "/innovation.idea.v1.IdeaService/ListIdeas" is "idea.motor".
func methodDomain(method string) errs.Domain {
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	parts := strings.Split(svc, ".")
	if len(parts) >= 3 && parts[0] == "innovation" {
		return errs.Domain(parts[1] + ".motor")
	}
	return "motor"
}
