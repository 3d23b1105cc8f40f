package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ErrorInfo domain and reasons on the status errors of this package, so
// portals can tell "sign in again" from "ask for access" without parsing
// messages.
const (
	ErrorDomain             = "auth.motor"
	ReasonUnauthenticated   = "UNAUTHENTICATED"
	ReasonPermissionDenied  = "PERMISSION_DENIED"
	ReasonKeysUnavailable   = "KEYS_UNAVAILABLE"
	authorizationMetadata   = "authorization"
	bearerScheme            = "Bearer"
	problemMetadataKey      = "problem"
	problemMissingToken     = "missing_token"
	problemMalformedHeader  = "malformed_header"
	problemInvalidIdentity  = "invalid_token"
	problemRoleRequired     = "role_required"
	problemRegionNotAllowed = "region_not_allowed"
)

// statusError builds a gRPC status carrying an ErrorInfo detail.
func statusError(code codes.Code, reason string, meta map[string]string, msg string) error {
	st := status.New(code, msg)
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: meta}); err == nil {
		st = withInfo
	}
	return st.Err()
}

func unauthenticated(problem, msg string) error {
	return statusError(codes.Unauthenticated, ReasonUnauthenticated, map[string]string{problemMetadataKey: problem}, msg)
}

// problemOf names the kind of a Verify error for ErrorInfo metadata; a
// portal refreshes an expired token but sends a malformed one nowhere.
func problemOf(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{ErrExpired, "token_expired"},
		{ErrNotYetValid, "token_not_yet_valid"},
		{ErrMalformed, "malformed_token"},
		{ErrAlgorithm, "algorithm_not_accepted"},
		{ErrUnknownKey, "unknown_key"},
		{ErrSignature, "bad_signature"},
		{ErrClaims, "claims_not_accepted"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return problemInvalidIdentity
}

// PublicMethod reports whether fullMethod is reachable without a token:
// health checks (probes carry no token) and reflection (it only describes
// the API, which is public anyway).
func PublicMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authenticatePeer is authenticate plus, with peers, the deployment behind
// a verified client certificate.
func authenticatePeer(ctx context.Context, v *Verifier, peers *PeerPolicy) (context.Context, error) {
	if peers == nil {
		return authenticate(ctx, v)
	}
	deployment := verifiedDeployment(ctx)
	if deployment == "" {
		return authenticate(ctx, v)
	}
	if len(metadata.ValueFromIncomingContext(ctx, authorizationMetadata)) == 0 && deployment != peers.Self {
		// Only another deployment's own system calls come without a token.
		// This deployment's gateway forwards its users' (possibly absent)
		// tokens, so it never stands in for them.
		return NewContext(ctx, peers.DeploymentIdentity(deployment)), nil
	}
	ctx, err := authenticate(ctx, v)
	if err != nil {
		return nil, err
	}
	id, _ := FromContext(ctx)
	id, err = peers.bind(id, deployment)
	if err != nil {
		return nil, err
	}
	return NewContext(ctx, id), nil
}

type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }

// authenticate returns ctx with the verified caller, or the status error to
// send back.
func authenticate(ctx context.Context, v *Verifier) (context.Context, error) {
	values := metadata.ValueFromIncomingContext(ctx, authorizationMetadata)
	switch len(values) {
	case 0:
		return nil, unauthenticated(problemMissingToken, "missing bearer token: no authorization metadata")
	case 1:
	default:
		return nil, unauthenticated(problemMalformedHeader, fmt.Sprintf("malformed authorization header: sent %d times, want once", len(values)))
	}
	value := strings.TrimSpace(values[0])
	if strings.EqualFold(value, bearerScheme) {
		return nil, unauthenticated(problemMissingToken, "missing bearer token: authorization header has no token after Bearer")
	}
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, bearerScheme) {
		return nil, unauthenticated(problemMalformedHeader, `malformed authorization header: want "Bearer <jwt>"`)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, unauthenticated(problemMissingToken, "missing bearer token: authorization header has no token after Bearer")
	}
	id, err := v.Verify(ctx, token)
	if err != nil {
		if errors.Is(err, ErrKeysUnavailable) {
			// The token may be fine; the caller should retry, not sign in again.
			return nil, statusError(codes.Unavailable, ReasonKeysUnavailable, nil, "cannot verify bearer token: "+err.Error())
		}
		return nil, unauthenticated(problemOf(err), "invalid bearer token: "+err.Error())
	}
	return NewContext(ctx, id), nil
}

// WithBearer returns ctx with token attached as outgoing authorization
// metadata, the form the interceptors read: how a service forwards its
// caller's Identity.Token, or presents its own, on a call to another one.
func WithBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, authorizationMetadata, bearerScheme+" "+token)
}
