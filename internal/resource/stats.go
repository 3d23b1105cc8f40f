package resource

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
)

// StatsRegion is what every Get…Stats checks before counting: name is
// regions/{region}/{singleton} of a region this deployment serves, and the
// caller may read its figures (the region's staff, national coordinators,
// other deployments). It returns the region.
func StatsRegion(ctx context.Context, d errs.Domain, served config.Served, name, singleton string) (string, error) {
	region, err := ParseStatsName(name, singleton)
	if err != nil {
		return "", d.InvalidArgument("name", err)
	}
	if _, err := Caller(ctx, d, served, region, auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service); err != nil {
		return "", err
	}
	return region, nil
}

// ParseStatsName parses a region's figures, regions/{region}/{singleton}
// (e.g. regions/uppsala/ideaStats), and returns the region.
func ParseStatsName(name, singleton string) (string, error) {
	parent, ok := strings.CutSuffix(name, "/"+singleton)
	if !ok {
		return "", fmt.Errorf("%q is not of the form regions/{region}/%s", name, singleton)
	}
	return ParseRegion(parent)
}

// CountByEnum counts the entries of an index whose terms start with an
// enum value's name and "/" (the layout of Motor's by-status indexes), for
// every value but the zero one. Values with no entries are left out.
func CountByEnum(ctx context.Context, st store.Store, ns store.Namespace, index string, enum protoreflect.EnumDescriptor) (map[string]int64, error) {
	out := map[string]int64{}
	values := enum.Values()
	for i := range values.Len() {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		n, err := st.Count(ctx, ns, index, string(v.Name())+"/")
		if err != nil {
			return nil, fmt.Errorf("store.Count %s %s: %w", index, v.Name(), err)
		}
		if n > 0 {
			out[string(v.Name())] = n
		}
	}
	return out, nil
}
