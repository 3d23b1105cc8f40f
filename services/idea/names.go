package idea

import (
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// ideaName is a parsed regions/{region}/ideas/{idea}.
type ideaName struct {
	Region string
	ID     string
}

func (n ideaName) String() string { return "regions/" + n.Region + "/ideas/" + n.ID }

// key is the idea's record key inside its region's namespace.
func (n ideaName) key() string { return "idea/" + n.ID }

func parseIdeaName(s string) (ideaName, error) {
	ids, err := resource.Split(s, "regions", "ideas")
	if err != nil {
		return ideaName{}, err
	}
	return ideaName{Region: ids[0], ID: ids[1]}, nil
}

func (n ideaName) ref() repo.Ref { return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()} }
