// Package config owns what a deployment is told about the world: Sweden's
// regions, which of them a deployment serves, and the deployment's config
// file (its name, its peers and its TLS material).
package config

import (
	"fmt"
	"slices"
	"strings"
)

// RegionIDs returns the slugs of Sweden's 21 regions, in the order of docs/architecture.md ("Regions").
func RegionIDs() []string {
	return []string{
		"blekinge", "dalarna", "gotland", "gavleborg", "halland", "jamtland-harjedalen",
		"jonkoping", "kalmar", "kronoberg", "norrbotten", "skane", "stockholm", "sormland",
		"uppsala", "varmland", "vasterbotten", "vasternorrland", "vastmanland",
		"vastra-gotaland", "orebro", "ostergotland",
	}
}

// KnownRegion reports whether id is one of the 21 region slugs.
func KnownRegion(id string) bool { return slices.Contains(RegionIDs(), id) }

// Served is the set of regions one deployment serves.
type Served struct{ ids []string }

// ParseServed reads a comma list of region slugs ("vasterbotten,uppsala").
func ParseServed(list string) (Served, error) {
	var s Served
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !KnownRegion(id) {
			return Served{}, fmt.Errorf("unknown region %q (known: %s)", id, strings.Join(RegionIDs(), " "))
		}
		if !slices.Contains(s.ids, id) {
			s.ids = append(s.ids, id)
		}
	}
	// An empty list is valid here: the national deployment serves no region.
	// A region deployment checks that it has one.
	return s, nil
}

// Has reports whether the deployment serves region.
func (s Served) Has(region string) bool { return slices.Contains(s.ids, region) }

// IDs lists the served regions.
func (s Served) IDs() []string { return slices.Clone(s.ids) }

func (s Served) String() string { return strings.Join(s.ids, ",") }
