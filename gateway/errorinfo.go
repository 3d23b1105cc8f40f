package gateway

import (
	"regexp"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Errors the gateway itself raises while turning a request into a call
// (grpc-gateway's JSON decoding: bad JSON, an unknown field) come without
// details; withErrorInfo gives them the ErrorInfo every Motor error has,
// and a BadRequest naming an unknown field.

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

func withErrorInfo(st *status.Status) *status.Status {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return st
		}
	}
	reason := strings.ToUpper(st.Code().String())
	switch st.Code() {
	case codes.InvalidArgument:
		reason = "MALFORMED_REQUEST"
	case codes.Canceled:
		reason = "CANCELLED"
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: "gateway.motor"}}
	if st.Code() == codes.InvalidArgument {
		if m := unknownField.FindAllStringSubmatch(st.Message(), -1); m != nil {
			br := &errdetails.BadRequest{}
			for _, f := range m {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f[1], Description: "unknown field"})
			}
			details = append(details, br)
		}
	}
	if withInfo, err := st.WithDetails(details...); err == nil {
		return withInfo
	}
	return st
}
