package auth

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// whoami is a minimal service whose handlers answer with the caller they
// see, so the tests observe what the interceptors put in the context.
type whoami struct{}

func describe(ctx context.Context) string {
	id, ok := FromContext(ctx)
	if !ok {
		return "anonymous"
	}
	return id.Subject + "@" + id.Region
}

func whoamiDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.Whoami",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Get",
			Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				handler := func(ctx context.Context, _ any) (any, error) {
					return wrapperspb.String(describe(ctx)), nil
				}
				if icpt == nil {
					return handler(ctx, in)
				}
				return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Whoami/Get"}, handler)
			},
		}},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Watch",
			ServerStreams: true,
			Handler: func(srv any, stream grpc.ServerStream) error {
				if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
					return err
				}
				return stream.SendMsg(wrapperspb.String(describe(stream.Context())))
			},
		}},
	}
}

// startServer runs a gRPC server behind the Gate on bufconn and returns a
// client connection to it. Any advisor may call test.Whoami; public nil
// makes every method need a caller, health included.
func startServer(t *testing.T, v *Verifier, public func(string) bool) *grpc.ClientConn {
	t.Helper()
	if public == nil {
		public = func(string) bool { return false }
	}
	rule := Rule{Roles: []Role{Advisor}}
	gate := NewGate(GateConfig{Verifier: v, Public: public, Rules: map[string]Rule{"/test.Whoami/Get": rule, "/test.Whoami/Watch": rule}})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(gate.Unary()), grpc.ChainStreamInterceptor(gate.Stream()))
	srv.RegisterService(whoamiDesc(), whoami{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func callGet(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, "/test.Whoami/Get", &emptypb.Empty{}, out)
	return out.GetValue(), err
}

func callWatch(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: "Watch", ServerStreams: true}, "/test.Whoami/Watch")
	if err != nil {
		return "", err
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	out := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

func TestInterceptors(t *testing.T) {
	signer, err := GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	conn := startServer(t, signer.Verifier(), PublicMethod)
	valid, err := signer.Sign(Claims{Subject: "anna", Region: "vasterbotten", Roles: []Role{Advisor}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	signer.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	expired, err := signer.Sign(Claims{Subject: "anna", Region: "vasterbotten", Roles: []Role{Advisor}}, time.Hour)
	signer.now = time.Now
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Sign(Claims{Subject: "mallory", Region: "vasterbotten", Roles: []Role{Advisor}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		md          []string // key, value pairs of outgoing metadata
		wantCode    codes.Code
		wantMsg     string
		wantProblem string
		wantCaller  string
	}{
		{"valid token", []string{"authorization", "Bearer " + valid}, codes.OK, "", "", "anna@vasterbotten"},
		{"scheme is case-insensitive", []string{"authorization", "bearer " + valid}, codes.OK, "", "", "anna@vasterbotten"},
		{"missing token", nil, codes.Unauthenticated, "missing bearer token", problemMissingToken, ""},
		{"empty bearer", []string{"authorization", "Bearer "}, codes.Unauthenticated, "missing bearer token", problemMissingToken, ""},
		{"basic auth", []string{"authorization", "Basic dXNlcjpwYXNz"}, codes.Unauthenticated, `malformed authorization header: want "Bearer <jwt>"`, problemMalformedHeader, ""},
		{"no scheme", []string{"authorization", valid}, codes.Unauthenticated, "malformed authorization header", problemMalformedHeader, ""},
		{"two headers", []string{"authorization", "Bearer " + valid, "authorization", "Bearer " + valid}, codes.Unauthenticated, "sent 2 times", problemMalformedHeader, ""},
		{"expired", []string{"authorization", "Bearer " + expired}, codes.Unauthenticated, "invalid bearer token: token expired at", "token_expired", ""},
		{"other key", []string{"authorization", "Bearer " + foreign}, codes.Unauthenticated, "unknown kid", "unknown_key", ""},
		{"garbage", []string{"authorization", "Bearer not-a-jwt"}, codes.Unauthenticated, "malformed token", "malformed_token", ""},
	}
	for _, tt := range tests {
		for _, call := range []struct {
			kind string
			fn   func(context.Context, *grpc.ClientConn) (string, error)
		}{{"unary", callGet}, {"stream", callWatch}} {
			t.Run(tt.name+"/"+call.kind, func(t *testing.T) {
				ctx := metadata.AppendToOutgoingContext(t.Context(), tt.md...)
				got, err := call.fn(ctx, conn)
				if code := status.Code(err); code != tt.wantCode {
					t.Fatalf("code %v (%v), want %v", code, err, tt.wantCode)
				}
				if tt.wantCode == codes.OK {
					if got != tt.wantCaller {
						t.Errorf("handler saw %q, want %q", got, tt.wantCaller)
					}
					return
				}
				if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("message %q does not say %q", msg, tt.wantMsg)
				}
				info := errorInfo(t, err)
				if info.GetReason() != ReasonUnauthenticated || info.GetDomain() != ErrorDomain || info.GetMetadata()[problemMetadataKey] != tt.wantProblem {
					t.Errorf("ErrorInfo %v, want reason %s domain %s problem %s", info, ReasonUnauthenticated, ErrorDomain, tt.wantProblem)
				}
			})
		}
	}

	t.Run("WithBearer forwards a token", func(t *testing.T) {
		got, err := callGet(WithBearer(t.Context(), valid), conn)
		if err != nil || got != "anna@vasterbotten" {
			t.Fatalf("callGet = %q, %v; want anna@vasterbotten", got, err)
		}
	})
	t.Run("health check needs no token", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check status %v, want SERVING", resp.GetStatus())
		}
	})
	t.Run("health check without public methods needs a token", func(t *testing.T) {
		closed := startServer(t, signer.Verifier(), nil)
		_, err := healthpb.NewHealthClient(closed).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if code := status.Code(err); code != codes.Unauthenticated {
			t.Fatalf("Check: code %v (%v), want Unauthenticated", code, err)
		}
	})
}

func TestPublicMethod(t *testing.T) {
	tests := map[string]bool{
		"/grpc.health.v1.Health/Check":                                   true,
		"/grpc.health.v1.Health/Watch":                                   true,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
		"/innovation.idea.v1.IdeaService/GetIdea":                        false,
		"/grpc.health.v1.HealthX/Check":                                  false,
		"/evil/grpc.health.v1.Health/Check":                              false,
		"":                                                               false,
	}
	for method, want := range tests {
		t.Run(method, func(t *testing.T) {
			if got := PublicMethod(method); got != want {
				t.Errorf("PublicMethod(%q) = %v, want %v", method, got, want)
			}
		})
	}
}

func TestInterceptor_KeysUnavailable(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	k2 := newTestKey(t, "ES256", "k2")
	srv := newJWKSServer(t, k1)
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	srv.failing.Store(true)
	conn := startServer(t, v, PublicMethod)
	ctx := WithBearer(t.Context(), mint(t, k2, hdrFor(k2), goodClaims(clk.now())))
	_, err = callGet(ctx, conn)
	if code := status.Code(err); code != codes.Unavailable {
		t.Fatalf("code %v (%v), want Unavailable: the token may be fine, the caller should retry", code, err)
	}
	if info := errorInfo(t, err); info.GetReason() != ReasonKeysUnavailable {
		t.Errorf("ErrorInfo reason %q, want %q", info.GetReason(), ReasonKeysUnavailable)
	}
}
