package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// CallerKind tells a user's call from a deployment's own (see Table).
type CallerKind int

const (
	CallerUser     CallerKind = iota // a bearer token
	CallerPeer                       // another deployment's certificate, no token
	CallerInternal                   // this process's own service credential
)

func (k CallerKind) String() string {
	switch k {
	case CallerPeer:
		return "peer"
	case CallerInternal:
		return "internal"
	}
	return "user"
}

// serviceMetadata carries a ServiceCredential; onBehalfMetadata the
// person a system call is made for, which only a deployment's own call may
// state (see OnBehalfOf).
const (
	serviceMetadata  = "motor-service-credential"
	onBehalfMetadata = "motor-on-behalf-of"
)

// OnBehalfOf returns ctx stating, on a call a service makes as itself, the
// subject of the person it acts for, so the callee's audit log names them.
// The gate keeps it only on calls of a deployment or of this process
// (Identity.OnBehalfOf); it grants nothing.
func OnBehalfOf(ctx context.Context, subject string) context.Context {
	if subject == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, onBehalfMetadata, subject)
}

// Actor is how audit records name who made a call: the subject, and for a
// deployment's call the person it acted for.
func (id *Identity) Actor() string {
	if id.OnBehalfOf != "" && id.Kind != CallerUser {
		return id.Subject + " for " + id.OnBehalfOf
	}
	return id.Subject
}

// ServiceCredential is how a service calls another service of its own
// process as itself rather than with the token of the person it acts for:
// the funding service on its own deployment's ledger, the idea service
// adopting an idea into another region it serves. The process mints it at
// start from 32 random bytes and keeps it in memory only; the Gate accepts
// it in place of a token, and only for rows marked Internal. Its holder's
// calls go to this process's own listener (over its own certificate when
// TLS is on), so it never leaves the machine and dies with the process.
// When a deployment's services run in several processes (one Kubernetes
// Deployment per target), a call to another process of the same
// deployment is proven by the deployment's own certificate instead, which
// every process of it holds; without TLS such a call is refused.
type ServiceCredential struct {
	secret string
	self   string
}

// NewServiceCredential mints a credential for deployment self ("" in a
// deployment without TLS).
func NewServiceCredential(self string) (*ServiceCredential, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("auth.NewServiceCredential: %w", err)
	}
	return &ServiceCredential{secret: base64.RawURLEncoding.EncodeToString(b), self: self}, nil
}

func (c *ServiceCredential) valid(v string) bool {
	return c != nil && subtle.ConstantTimeCompare([]byte(v), []byte(c.secret)) == 1
}

// serviceIdentity is deployment self calling as itself ("" in a
// deployment without TLS).
func serviceIdentity(self string) *Identity {
	name := self
	if name == "" {
		name = "local"
	}
	return &Identity{Subject: "service:" + name, Name: name, Roles: []Role{Service}, Deployment: self, Kind: CallerInternal}
}

// AsService wraps a connection so that every call on it is made as the
// calling deployment itself: any bearer token in the outgoing context is
// dropped, and with cred (a call to this process's own services) the
// process's service credential is attached. Without cred (a call to a peer
// over mTLS) the certificate alone says who calls.
func AsService(cc grpc.ClientConnInterface, cred *ServiceCredential) grpc.ClientConnInterface {
	return serviceConn{cc: cc, cred: cred}
}

type serviceConn struct {
	cc   grpc.ClientConnInterface
	cred *ServiceCredential
}

func (s serviceConn) outgoing(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Delete(authorizationMetadata)
	md.Delete(serviceMetadata)
	if s.cred != nil {
		md.Set(serviceMetadata, s.cred.secret)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

func (s serviceConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return s.cc.Invoke(s.outgoing(ctx), method, args, reply, opts...)
}

func (s serviceConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return s.cc.NewStream(s.outgoing(ctx), desc, method, opts...)
}

// GateConfig is what the Gate checks calls against.
type GateConfig struct {
	Verifier *Verifier
	// Peers is the mTLS side (nil: a plain-text server, no peers).
	Peers *PeerPolicy
	// Credential is this process's service credential (nil: no internal
	// calls are accepted).
	Credential *ServiceCredential
	// Rules is the access table; nil means Table().
	Rules map[string]Rule
	// Public reports methods that need no caller at all; nil means
	// PublicMethod.
	Public func(fullMethod string) bool
	Logger *slog.Logger
	// Meter counts refusals (motor.access.refusals); nil counts nowhere.
	Meter metric.MeterProvider
}

// Gate is the one place a call is admitted: it establishes who calls
// (token, peer certificate or service credential) and checks the call
// against the access table. Every refusal is logged and counted.
type Gate struct {
	verifier *Verifier
	peers    *PeerPolicy
	cred     *ServiceCredential
	rules    map[string]Rule
	public   func(string) bool
	logger   *slog.Logger
	refused  metric.Int64Counter
}

// NewGate returns the gate for cfg.
func NewGate(cfg GateConfig) *Gate {
	g := &Gate{verifier: cfg.Verifier, peers: cfg.Peers, cred: cfg.Credential, rules: cfg.Rules, public: cfg.Public, logger: cfg.Logger}
	if g.rules == nil {
		g.rules = Table()
	}
	if g.public == nil {
		g.public = PublicMethod
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	mp := cfg.Meter
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	counter, err := mp.Meter("github.com/innovationsmotorer/motor/internal/auth").Int64Counter("motor.access.refusals",
		metric.WithDescription("Calls the access gate refused, by method, kind of caller and problem."))
	if err != nil {
		counter, _ = noop.NewMeterProvider().Meter("").Int64Counter("motor.access.refusals")
	}
	g.refused = counter
	return g
}

// Unary is the gate as a unary server interceptor.
func (g *Gate) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := g.Admit(ctx, info.FullMethod, req)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Admit is the gate for a unary call made in one interceptor with others
// (rpc's server chain): ctx as it is for a public method, else ctx with
// the caller's Identity, or the refusal to send.
func (g *Gate) Admit(ctx context.Context, method string, req any) (context.Context, error) {
	if g.public(method) {
		return ctx, nil
	}
	return g.admit(ctx, method, req)
}

// Stream is the gate as a stream server interceptor. Streams have no
// request to read a region from, so rows with a Field refuse peers there.
func (g *Gate) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if g.public(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := g.admit(ss.Context(), info.FullMethod, nil)
		if err != nil {
			return err
		}
		return handler(srv, &identityStream{ServerStream: ss, ctx: ctx})
	}
}

// admit returns ctx with the caller's Identity, or the refusal to send.
func (g *Gate) admit(ctx context.Context, method string, req any) (context.Context, error) {
	admitted, err := g.identify(ctx)
	if err != nil {
		g.record(ctx, method, nil, err)
		return nil, err
	}
	id, _ := FromContext(admitted)
	if id.Kind != CallerUser {
		// Only the keys the gate reads are looked up: copying the whole
		// metadata for each was a good part of what admitting a call cost.
		if vals := metadata.ValueFromIncomingContext(ctx, onBehalfMetadata); len(vals) == 1 {
			onBehalf := *id
			onBehalf.OnBehalfOf = vals[0]
			id = &onBehalf
			admitted = NewContext(admitted, id)
		}
	}
	if err := g.authorize(method, req, id); err != nil {
		g.record(ctx, method, id, err)
		return nil, err
	}
	return admitted, nil
}

// identify establishes the caller: this process's service credential, a
// listed peer's certificate (with or without a token), or a token.
func (g *Gate) identify(ctx context.Context) (context.Context, error) {
	deployment, self := "", ""
	if g.peers != nil {
		deployment, self = verifiedDeployment(ctx), g.peers.Self
	}
	if vals := metadata.ValueFromIncomingContext(ctx, serviceMetadata); len(vals) > 0 {
		// The proof is this process's credential or, across the pods of one
		// deployment (the targets split over Kubernetes Deployments), the
		// deployment's own certificate: every pod holds it, none holds
		// another pod's in-memory credential.
		ownCert := deployment != "" && deployment == self
		switch {
		case len(vals) != 1 || (deployment != "" && !ownCert):
		case ownCert:
			return NewContext(ctx, serviceIdentity(self)), nil
		case g.cred.valid(vals[0]):
			return NewContext(ctx, serviceIdentity(g.cred.self)), nil
		}
		return nil, unauthenticated("invalid_service_credential", "invalid service credential")
	}
	if deployment != "" && deployment != self {
		if _, listed := g.peers.Peers[deployment]; !listed {
			return nil, denied("peer_not_listed", map[string]string{"deployment": deployment},
				"deployment %s is not a peer of this deployment: only deployments listed in peers are trusted", deployment)
		}
	}
	return authenticatePeer(ctx, g.verifier, g.peers)
}

// authorize checks the caller against the method's row.
func (g *Gate) authorize(method string, req any, id *Identity) error {
	rule, ok := g.rules[method]
	if !ok {
		return denied("no_access_rule", nil, "%s has no row in the access table, so nobody may call it", method)
	}
	switch id.Kind {
	case CallerInternal:
		if !rule.Internal {
			return denied("not_a_system_call", nil, "%s is not a call a service makes as itself", method)
		}
		return nil
	case CallerPeer:
		return g.authorizePeer(method, req, id.Deployment, rule)
	}
	if len(rule.Roles) == 0 {
		return denied("no_user_token", nil, "%s is not callable with a user token: only a deployment's own service makes it", method)
	}
	for _, r := range rule.Roles {
		if id.Has(r) {
			return nil
		}
	}
	return denied(problemRoleRequired, map[string]string{"requiredRoles": joinRoles(rule.Roles, ",")},
		"role %s required", joinRoles(rule.Roles, " or "))
}

func (g *Gate) authorizePeer(method string, req any, deployment string, rule Rule) error {
	meta := map[string]string{"deployment": deployment}
	if rule.Peer == NoPeer {
		return denied("not_a_system_call", meta, "deployment %s may not call %s as itself", deployment, method)
	}
	national := g.peers.national(deployment)
	if national && rule.Relay {
		return nil // relayed for a region peer the national deployment admitted
	}
	if (rule.Peer == NationalReadsRegion) != national {
		meta["relationship"] = string(rule.Peer)
		return denied("relationship", meta, "deployment %s may not call %s: that is for %s", deployment, method, rule.Peer)
	}
	if rule.Field == "" {
		return nil
	}
	region := requestRegion(req, rule.Field)
	if served := g.peers.regions(deployment); region == "" || !slices.Contains(served, region) {
		meta["region"] = region
		return denied(problemRegionNotAllowed, meta, "deployment %s (serving %s) may not call %s for %q: it does not serve that region",
			deployment, strings.Join(served, ","), method, region)
	}
	return nil
}

// requestRegion reads the region of the resource name in field of req,
// regions/{region}/…, or "" when there is none.
func requestRegion(req any, field string) string {
	m, ok := req.(proto.Message)
	if !ok {
		return ""
	}
	fd := m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(field))
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	rest, ok := strings.CutPrefix(m.ProtoReflect().Get(fd).String(), "regions/")
	if !ok {
		return ""
	}
	region, _, _ := strings.Cut(rest, "/")
	return region
}

// Denied is a PERMISSION_DENIED of the access rules for handlers that
// check what only they can see (an object the table cannot name).
func Denied(problem, format string, args ...any) error {
	return statusError(codes.PermissionDenied, ReasonPermissionDenied, map[string]string{problemMetadataKey: problem}, fmt.Sprintf(format, args...))
}

func denied(problem string, meta map[string]string, format string, args ...any) error {
	md := map[string]string{problemMetadataKey: problem, "layer": "access"}
	for k, v := range meta {
		md[k] = v
	}
	return statusError(codes.PermissionDenied, ReasonPermissionDenied, md, fmt.Sprintf(format, args...))
}

// record logs and counts a refusal. A deployment's refused system call is
// a warning (a misconfiguration or an attack); a person's is routine.
func (g *Gate) record(ctx context.Context, method string, id *Identity, err error) {
	caller, deployment, subject := "anonymous", "", ""
	if id != nil {
		caller, deployment, subject = id.Kind.String(), id.Deployment, id.Subject
	} else if g.peers != nil {
		deployment = verifiedDeployment(ctx)
	}
	st := status.Convert(err)
	problem := ""
	for _, d := range st.Details() {
		if info, ok := d.(interface{ GetMetadata() map[string]string }); ok {
			problem = info.GetMetadata()[problemMetadataKey]
		}
	}
	g.refused.Add(ctx, 1, metric.WithAttributes(
		attribute.String("rpc.method", method),
		attribute.String("motor.caller", caller),
		attribute.String("motor.problem", problem),
		attribute.String("rpc.grpc.status_code", st.Code().String()),
	))
	level := slog.LevelInfo
	if deployment != "" || (id != nil && id.Kind != CallerUser) {
		level = slog.LevelWarn
	}
	g.logger.Log(ctx, level, "call refused", "method", method, "caller", caller, "deployment", deployment,
		"subject", subject, "code", st.Code().String(), "problem", problem, "reason", st.Message())
}
