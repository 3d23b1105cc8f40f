package rpc_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/admission"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// failing answers each call as its request's payload says: UnaryCall
// returns the error of code ResponseStatus.Code with its message, after
// waiting for the caller to give up when the message is "wait".
type failing struct {
	testpb.UnimplementedTestServiceServer
	started chan struct{}
	release chan struct{}
}

func (f *failing) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	rs := req.GetResponseStatus()
	switch rs.GetMessage() {
	case "block":
		f.started <- struct{}{}
		<-f.release
		return &testpb.SimpleResponse{}, nil
	case "wait":
		f.started <- struct{}{}
		<-ctx.Done()
		// A handler that reports its context's end as a failure of its own.
		return nil, status.Error(codes.Internal, "store.Get: "+ctx.Err().Error())
	}
	if rs.GetCode() == 0 {
		return &testpb.SimpleResponse{}, nil
	}
	st := status.New(codes.Code(rs.GetCode()), rs.GetMessage())
	st, _ = st.WithDetails(&errdetails.ErrorInfo{Reason: "STORE_UNAVAILABLE", Domain: "idea.motor", Metadata: map[string]string{"addr": "10.1.2.3:6379"}})
	return nil, st.Err()
}

type admitted struct {
	conn   *grpc.ClientConn
	client testpb.TestServiceClient
	svc    *failing
	signer *auth.Signer
	logs   *testenv.LogBuffer
	tel    *telemetry.Telemetry
}

func startAdmitted(t *testing.T, a *rpc.Admission) *admitted {
	t.Helper()
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	tel := &telemetry.Telemetry{
		TracerProvider: sdktrace.NewTracerProvider(),
		MeterProvider:  noop.NewMeterProvider(),
		Propagator:     propagation.TraceContext{},
	}
	logs := &testenv.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), Admission: a, Logger: logger, Telemetry: tel, Rules: testRules(auth.NoPeer)})
	svc := &failing{started: make(chan struct{}, 16), release: make(chan struct{})}
	testpb.RegisterTestServiceServer(srv.GRPC, svc)
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := rpc.Dial(lis.Addr().String(), tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &admitted{conn: conn, client: testpb.NewTestServiceClient(conn), svc: svc, signer: signer, logs: logs, tel: tel}
}

func (a *admitted) as(t *testing.T, sub string, roles ...auth.Role) context.Context {
	t.Helper()
	if len(roles) == 0 {
		roles = []auth.Role{auth.Advisor}
	}
	region := "uppsala"
	if roles[0] == auth.Coordinator {
		region = auth.NationalRegion
	}
	tok, err := a.signer.Sign(auth.Claims{Subject: sub, Region: region, Roles: roles}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
}

func call(ctx context.Context, c testpb.TestServiceClient, code codes.Code, msg string, opts ...grpc.CallOption) error {
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(code), Message: msg}}, opts...)
	return err
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func TestAdmission_RateLimitPerCaller(t *testing.T) {
	a := startAdmitted(t, &rpc.Admission{
		Limiter: admission.NewLimiter(),
		Rates:   admission.Rates{PerSecond: 0.01, Burst: 3},
		Peers:   admission.Rates{PerSecond: 0.01, Burst: 6},
	})
	greedy := a.as(t, "greedy")
	for i := range 3 {
		if err := call(greedy, a.client, codes.OK, ""); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	var header metadata.MD
	err := call(greedy, a.client, codes.OK, "", grpc.Header(&header))
	if status.Code(err) != codes.ResourceExhausted || reasonOf(err) != admission.ReasonRateLimited {
		t.Fatalf("call past the burst: %v, want ResourceExhausted RATE_LIMITED", err)
	}
	if d, ok := admission.RetryDelay(status.Convert(err)); !ok || d <= 0 {
		t.Errorf("refusal carries no RetryInfo delay (%v, %v)", d, ok)
	}
	if got := header.Get("retry-after"); len(got) != 1 || got[0] == "0" {
		t.Errorf("retry-after header %q, want a positive number of seconds", got)
	}
	if err := call(a.as(t, "someone-else"), a.client, codes.OK, ""); err != nil {
		t.Errorf("another caller refused for the first one's calls: %v", err)
	}
	// The coordinator's one request fans out; it has the larger bucket.
	coord := a.as(t, "coord", auth.Coordinator)
	for i := range 6 {
		if err := call(coord, a.client, codes.OK, ""); err != nil {
			t.Fatalf("coordinator call %d within its burst: %v", i+1, err)
		}
	}
	if _, err := healthpb.NewHealthClient(a.conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health refused: %v", err)
	}
}

func TestAdmission_InFlightCapSheds(t *testing.T) {
	a := startAdmitted(t, &rpc.Admission{InFlight: admission.NewInFlight(2)})
	ctx := a.as(t, "u")
	errc := make(chan error, 2)
	for range 2 {
		go func() { errc <- call(ctx, a.client, codes.OK, "block") }()
	}
	<-a.svc.started
	<-a.svc.started

	err := call(ctx, a.client, codes.OK, "")
	if status.Code(err) != codes.Unavailable || reasonOf(err) != admission.ReasonOverloaded {
		t.Errorf("call over the cap: %v, want Unavailable OVERLOADED", err)
	}
	if _, err := healthpb.NewHealthClient(a.conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health refused while full: %v", err)
	}
	close(a.svc.release)
	for range 2 {
		if err := <-errc; err != nil {
			t.Errorf("admitted call: %v", err)
		}
	}
	if err := call(ctx, a.client, codes.OK, ""); err != nil {
		t.Errorf("call after the load went: %v", err)
	}
}

// TestGuard_NoInternalDetail: what a lower layer said stays in the log, with
// the trace id that the caller gets instead.
func TestGuard_NoInternalDetail(t *testing.T) {
	a := startAdmitted(t, nil)
	for _, tc := range []struct {
		code codes.Code
		msg  string
	}{
		{codes.Internal, "store.Get ideas/x: dial tcp 10.1.2.3:6379: connect: connection refused"},
		{codes.Unknown, "boltstore: database not open"},
		{codes.Unavailable, "storage is unavailable: dial tcp 10.1.2.3:6379: i/o timeout"},
		{codes.DeadlineExceeded, "rpc error: code = DeadlineExceeded desc = context deadline exceeded"},
	} {
		err := call(a.as(t, "u"), a.client, tc.code, tc.msg)
		st := status.Convert(err)
		want := tc.code
		if tc.code == codes.Unknown {
			want = codes.Internal
		}
		if st.Code() != want {
			t.Errorf("%v %q: answered %v, want %v", tc.code, tc.msg, st.Code(), want)
		}
		for _, leak := range []string{"10.1.2.3", "dial", "bolt", "rpc error"} {
			if strings.Contains(st.Message(), leak) || strings.Contains(protoText(st), leak) {
				t.Errorf("%v answer %q (details %s) names %q", tc.code, st.Message(), protoText(st), leak)
			}
		}
		if reasonOf(err) != "STORE_UNAVAILABLE" {
			t.Errorf("%v answer lost its ErrorInfo reason: %v", tc.code, st.Details())
		}
		if !strings.Contains(st.Message(), "trace ") {
			t.Errorf("%v answer %q carries no trace id", tc.code, st.Message())
		}
		traceID := st.Message()[strings.LastIndex(st.Message(), "trace ")+len("trace "):]
		traceID = strings.TrimSuffix(traceID, ")")
		if !strings.Contains(a.logs.String(), traceID) || !strings.Contains(a.logs.String(), "10.1.2.3") {
			t.Errorf("the log has not the detail with trace %s:\n%s", traceID, a.logs.String())
		}
	}
	// A refusal in the caller's own words passes as it was.
	err := call(a.as(t, "u"), a.client, codes.Unavailable, "the national programme ledger did not answer; nothing was reserved")
	if got := status.Convert(err).Message(); got != "the national programme ledger did not answer; nothing was reserved" {
		t.Errorf("a service's own UNAVAILABLE reworded: %q", got)
	}
}

func protoText(st *status.Status) string {
	var b strings.Builder
	for _, d := range st.Details() {
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmtAny(d), "\n", " ")))
	}
	return b.String()
}

func fmtAny(v any) string {
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}

// TestGuard_CancelledCallIsCancelled: a caller that goes away is logged as
// CANCELLED, not as an internal error, whatever the handler made of it.
func TestGuard_CancelledCallIsCancelled(t *testing.T) {
	a := startAdmitted(t, nil)
	ctx, cancel := context.WithCancel(a.as(t, "u"))
	errc := make(chan error, 1)
	go func() { errc <- call(ctx, a.client, codes.OK, "wait") }()
	<-a.svc.started
	cancel()
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Errorf("client side: %v, want Canceled", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(a.logs.String(), `"code":"Canceled"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := a.logs.String()
	if !strings.Contains(logs, `"code":"Canceled"`) || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("cancelled call logged as:\n%s\nwant code Canceled and no ERROR", logs)
	}

	ctx, cancel = context.WithTimeout(a.as(t, "u"), 200*time.Millisecond)
	defer cancel()
	go func() { errc <- call(ctx, a.client, codes.OK, "wait") }()
	<-a.svc.started
	<-errc
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(a.logs.String(), `"code":"DeadlineExceeded"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if logs := a.logs.String(); !strings.Contains(logs, `"code":"DeadlineExceeded"`) || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("call past its deadline logged as:\n%s\nwant DeadlineExceeded and no ERROR", logs)
	}
}
