package auth

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Require returns the caller if they hold one of roles and may act in region.
// Region-bound roles (submitter, advisor, region_admin, partner) count only in
// the token's own region; coordinator and service count everywhere. Only
// roles that pass the region rule are matched, so a national coordinator who
// also carries advisor is not an advisor of every region.
func Require(ctx context.Context, region string, roles ...Role) (*Identity, error) {
	id, ok := FromContext(ctx)
	if !ok {
		return nil, unauthenticated(problemMissingToken, "no identity: the call carries no verified bearer token")
	}
	if len(roles) == 0 {
		// A handler that names no role has a bug; refusing beats letting
		// everyone through.
		return nil, status.Error(codes.Internal, "auth.Require: no role given")
	}
	var otherRegion []Role
	for _, r := range roles {
		if !id.Has(r) {
			continue
		}
		if !regionBound(r) || id.Region == region {
			return id, nil
		}
		otherRegion = append(otherRegion, r)
	}
	meta := map[string]string{
		"region":        region,
		"callerRegion":  id.Region,
		"requiredRoles": joinRoles(roles, ","),
	}
	if len(otherRegion) > 0 {
		meta[problemMetadataKey] = problemRegionNotAllowed
		return nil, statusError(codes.PermissionDenied, ReasonPermissionDenied, meta,
			fmt.Sprintf("role %s of region %s may not act in region %s", joinRoles(otherRegion, " or "), id.Region, region))
	}
	meta[problemMetadataKey] = problemRoleRequired
	return nil, statusError(codes.PermissionDenied, ReasonPermissionDenied, meta,
		fmt.Sprintf("role %s required", joinRoles(roles, " or ")))
}

func joinRoles(roles []Role, sep string) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, sep)
}

// CanSeePersonalData reports whether id may see personal data of an object in
// region owned by subject owner: the person themselves, and advisors and
// region admins of that region. Coordinators and services see objects of
// many regions and so never see personal data.
func CanSeePersonalData(id *Identity, region, owner string) bool {
	if id == nil {
		return false
	}
	if owner != "" && id.Subject == owner {
		return true
	}
	return id.Region == region && (id.Has(Advisor) || id.Has(RegionAdmin))
}
