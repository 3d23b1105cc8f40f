package needs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// needName is a parsed regions/{region}/needs/{need}.
type needName struct {
	Region string
	ID     string
}

func (n needName) String() string { return "regions/" + n.Region + "/needs/" + n.ID }

// key is the need's record key inside its region's namespace.
func (n needName) key() string { return "need/" + n.ID }

func (n needName) ref() repo.Ref { return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()} }

func parseNeedName(s string) (needName, error) {
	ids, err := resource.Split(s, "regions", "needs")
	if err != nil {
		return needName{}, err
	}
	return needName{Region: ids[0], ID: ids[1]}, nil
}

// screeningName is a parsed regions/{region}/needs/{need}/screenings/{round}.
// Rounds are numbered from 1 in the order they were recorded.
type screeningName struct {
	Need  needName
	Round int
}

func (n screeningName) String() string {
	return n.Need.String() + "/screenings/" + strconv.Itoa(n.Round)
}

// key and term are zero-padded so the store's byte order is round order.
func (n screeningName) key() string  { return "screening/" + n.term() }
func (n screeningName) term() string { return fmt.Sprintf("%s/%06d", n.Need.ID, n.Round) }

func (n screeningName) ref() repo.Ref {
	return repo.Ref{Region: n.Need.Region, Key: n.key(), Name: n.String()}
}

func parseScreeningName(s string) (screeningName, error) {
	i := strings.LastIndex(s, "/screenings/")
	if i < 0 {
		return screeningName{}, fmt.Errorf("%q is not of the form regions/{region}/needs/{need}/screenings/{round}", s)
	}
	need, err := parseNeedName(s[:i])
	if err != nil {
		return screeningName{}, err
	}
	round, err := strconv.Atoi(s[i+len("/screenings/"):])
	if err != nil || round < 1 {
		return screeningName{}, fmt.Errorf("%q: the round is not a positive number", s)
	}
	return screeningName{Need: need, Round: round}, nil
}

// historyKey and historyTerm place a need's decisions in the order they were
// taken.
func historyTerm(need needName, seq int) string { return fmt.Sprintf("%s/%06d", need.ID, seq) }
func historyKey(need needName, seq int) string  { return "history/" + historyTerm(need, seq) }

// Link target kinds: the collection segment of the target's resource name.
const (
	targetIdea       = "ideas"
	targetOffer      = "offers"
	targetSubproject = "subprojects"
)

// linkTarget is a parsed regions/{region}/{ideas|offers|subprojects}/{id}.
type linkTarget struct {
	Region string
	Kind   string
	ID     string
}

func (t linkTarget) String() string { return "regions/" + t.Region + "/" + t.Kind + "/" + t.ID }

func parseLinkTarget(s string) (linkTarget, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] != "regions" {
		return linkTarget{}, fmt.Errorf("%q is not a resource name: use regions/{region}/ideas/{idea}, regions/{region}/offers/{offer} or regions/{region}/subprojects/{subproject}", s)
	}
	switch parts[2] {
	case targetIdea, targetOffer, targetSubproject:
	default:
		return linkTarget{}, fmt.Errorf("%q: a need links to ideas, offers or subprojects, not %q", s, parts[2])
	}
	if err := resource.CheckSegment(parts[1]); err != nil {
		return linkTarget{}, fmt.Errorf("%q: region: %w", s, err)
	}
	if err := resource.CheckSegment(parts[3]); err != nil {
		return linkTarget{}, fmt.Errorf("%q: id: %w", s, err)
	}
	return linkTarget{Region: parts[1], Kind: parts[2], ID: parts[3]}, nil
}
