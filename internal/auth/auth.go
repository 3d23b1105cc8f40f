// Package auth owns who a caller is and what they may do: validation of the
// bearer JWTs every service receives (signature against a JWKS, issuer,
// audience, lifetime, algorithm allow-list), the Identity those tokens carry
// through a request's context, the gRPC interceptors that put it there, and
// the role and region checks that handlers make on the object they touch.
//
// It also owns dev mode: a deployment without an identity provider signs its
// own tokens with a key kept in its data folder.
//
// Between deployments it owns what a verified mTLS client certificate means
// (peer.go): the calling deployment's service identity for its system calls,
// and the rule that a deployment's certificate carries tokens only of the
// regions that deployment serves.
//
// It owns the one table of who may call which RPC (access.go) and the gate
// that enforces it on every server (gate.go), including the service
// credential with which a process's services call each other as themselves.
package auth

import (
	"context"
	"errors"
	"slices"
)

// Role is what a token allows its holder to do. Most roles are bound to the
// token's region; Coordinator and Service act across regions.
type Role string

const (
	Submitter   Role = "submitter"    // any signed-in person
	Advisor     Role = "advisor"      // innovation advisor of their region
	RegionAdmin Role = "region_admin" // region coordinator/admin of their region
	Partner     Role = "partner"      // a company user, tied to a partner by the "partner" claim
	Coordinator Role = "coordinator"  // national coordinator; tokens carry region "national"
	Service     Role = "service"      // another deployment
)

// NationalRegion is the region claim of national coordinators' tokens.
const NationalRegion = "national"

// knownRole reports whether r is one of the roles above. Tokens naming any
// other role are refused rather than ignored, so a typo at the identity
// provider shows up at once instead of as a puzzling PERMISSION_DENIED.
func knownRole(r Role) bool {
	switch r {
	case Submitter, Advisor, RegionAdmin, Partner, Coordinator, Service:
		return true
	}
	return false
}

// regionBound reports whether holding r only allows acting in the token's own
// region.
func regionBound(r Role) bool {
	return r != Coordinator && r != Service
}

// Identity is the verified caller of a request.
type Identity struct {
	Subject string // "sub"
	Name    string // "name"
	Region  string // "region"
	Roles   []Role // "roles" (JSON array of strings)
	Partner string // "partner" claim: resource name of the partner a partner-user belongs to
	Token   string // the raw bearer token, so it can be forwarded on calls to other services
	// Deployment is the deployment whose CA-verified client certificate
	// carried the call (see PeerPolicy), this deployment's own name for
	// calls from its own gateway, and empty on a plain-text listener.
	Deployment string
	// Kind says whether a person (a token), another deployment (its
	// certificate alone) or a service of this process (its service
	// credential) calls; the access table treats them apart.
	Kind CallerKind
	// OnBehalfOf is, on a deployment's or this process's own call, the
	// subject of the person it acted for, as the caller stated it: for the
	// audit log only, never for access.
	OnBehalfOf string
}

// Has reports whether id holds role r, regardless of region. Handlers decide
// access with Require, which also applies the region rule.
func (id *Identity) Has(r Role) bool {
	return id != nil && slices.Contains(id.Roles, r)
}

type identityKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity the interceptors stored in ctx.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok && id != nil
}

// Sentinel errors of token validation. Verify's messages say exactly what is
// wrong; these let callers (the interceptors, tests) tell the kinds apart.
var (
	ErrMalformed       = errors.New("malformed token")
	ErrAlgorithm       = errors.New("algorithm not accepted")
	ErrUnknownKey      = errors.New("unknown signing key")
	ErrSignature       = errors.New("invalid signature")
	ErrExpired         = errors.New("token expired")
	ErrNotYetValid     = errors.New("token not yet valid")
	ErrClaims          = errors.New("claims not accepted")
	ErrKeysUnavailable = errors.New("signing keys unavailable") // the JWKS could not be fetched
)

// tokenError keeps Verify's precise message while still matching one of the
// sentinels with errors.Is.
type tokenError struct {
	kind error
	msg  string
}

func (e *tokenError) Error() string { return e.msg }
func (e *tokenError) Unwrap() error { return e.kind }
