package gateway

import (
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"
)

// writeStatus writes a google.rpc.Status JSON body for errors the gateway
// itself decides (body too large, unknown route), in the same shape as the
// services' errors.
func writeStatus(w http.ResponseWriter, httpStatus int, code codes.Code, reason, msg string, more ...protoadapt.MessageV1) {
	st := status.New(code, msg)
	details := append([]protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: "gateway.motor"}}, more...)
	if withInfo, err := st.WithDetails(details...); err == nil {
		st = withInfo
	}
	b, err := protojson.Marshal(st.Proto())
	if err != nil {
		http.Error(w, msg, httpStatus)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}
