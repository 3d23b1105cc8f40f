package resource

import (
	"context"
	"errors"
	"strings"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

// Region is how a call on a region's collection starts: parent is
// regions/{region} (else INVALID_ARGUMENT naming parent), the deployment
// serves the region (else NOT_FOUND), and the caller holds one of roles
// there (see Caller). It returns the region and the caller.
func Region(ctx context.Context, d errs.Domain, served config.Served, parent string, roles ...auth.Role) (string, *auth.Identity, error) {
	region, err := ParseRegion(parent)
	if err != nil {
		return "", nil, d.InvalidArgument("parent", err)
	}
	who, err := Caller(ctx, d, served, region, roles...)
	if err != nil {
		return "", nil, err
	}
	return region, who, nil
}

// Caller checks that the deployment serves region and returns the caller
// if they hold one of roles there (auth.Require).
func Caller(ctx context.Context, d errs.Domain, served config.Served, region string, roles ...auth.Role) (*auth.Identity, error) {
	if err := Served(d, served, region); err != nil {
		return nil, err
	}
	return auth.Require(ctx, region, roles...)
}

// PersonRegion checks a request for one person's data (export or erasure)
// as the person service makes it: parent is regions/{region} of a region
// this deployment serves, subject names the person, and the caller is this
// deployment's own service — nobody else reaches a person's data whole.
func PersonRegion(ctx context.Context, d errs.Domain, served config.Served, parent, subject string) (string, error) {
	region, err := ParseRegion(parent)
	if err != nil {
		return "", d.InvalidArgument("parent", err)
	}
	if strings.TrimSpace(subject) == "" {
		return "", d.InvalidArgument("subject", errors.New("is required"))
	}
	if _, err := Caller(ctx, d, served, region, auth.Service); err != nil {
		return "", err
	}
	return region, nil
}
