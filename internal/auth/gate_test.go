package auth

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestGate_RefusalsLoggedAndCounted: the gate admits what its rows allow,
// refuses the rest with PERMISSION_DENIED or UNAUTHENTICATED, and logs and
// counts every refusal.
func TestGate_RefusalsLoggedAndCounted(t *testing.T) {
	signer, err := GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := NewServiceCredential("")
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	var logs bytes.Buffer
	gate := NewGate(GateConfig{
		Verifier: signer.Verifier(), Credential: cred,
		Rules:  map[string]Rule{"/test.Whoami/Get": {Roles: []Role{Advisor}, Internal: true}},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Meter:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(gate.Unary()), grpc.ChainStreamInterceptor(gate.Stream()))
	srv.RegisterService(whoamiDesc(), whoami{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	token := func(role Role) context.Context {
		tok, err := signer.Sign(Claims{Subject: "anna", Region: "uppsala", Roles: []Role{role}}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
	}
	other, err := NewServiceCredential("")
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"advisor", func() error { _, err := callGet(token(Advisor), conn); return err }, codes.OK},
		{"submitter", func() error { _, err := callGet(token(Submitter), conn); return err }, codes.PermissionDenied},
		{"no token", func() error { _, err := callGet(t.Context(), conn); return err }, codes.Unauthenticated},
		{"service credential", func() error {
			return AsService(conn, cred).Invoke(token(Submitter), "/test.Whoami/Get", &emptypb.Empty{}, new(wrapperspb.StringValue))
		}, codes.OK},
		{"another process's credential", func() error {
			return AsService(conn, other).Invoke(t.Context(), "/test.Whoami/Get", &emptypb.Empty{}, new(wrapperspb.StringValue))
		}, codes.Unauthenticated},
		{"a method without a row", func() error { _, err := callWatch(token(Advisor), conn); return err }, codes.PermissionDenied},
	} {
		err := tc.call()
		if status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want != codes.OK {
			refused++
		}
	}
	if got := strings.Count(logs.String(), `"msg":"call refused"`); got != refused {
		t.Errorf("%d refusals logged, want %d:\n%s", got, refused, logs.String())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	var counted int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "motor.access.refusals" {
				for _, dp := range sum.DataPoints {
					counted += dp.Value
				}
			}
		}
	}
	if counted != int64(refused) {
		t.Errorf("%d refusals counted, want %d", counted, refused)
	}
}
