package partner

import (
	"fmt"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// partnerName is a parsed regions/{region}/partners/{partner}.
type partnerName struct {
	Region string
	ID     string
}

func (n partnerName) String() string { return "regions/" + n.Region + "/partners/" + n.ID }

func (n partnerName) key() string { return "partner/" + n.ID }

func (n partnerName) ref() repo.Ref {
	return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()}
}

// agreementName is a parsed regions/{region}/partners/{partner}/agreements/{agreement}.
type agreementName struct {
	Partner partnerName
	ID      string
}

func (n agreementName) String() string { return n.Partner.String() + "/agreements/" + n.ID }

func (n agreementName) key() string { return "agreement/" + n.Partner.ID + "/" + n.ID }

func (n agreementName) ref() repo.Ref {
	return repo.Ref{Region: n.Partner.Region, Key: n.key(), Name: n.String()}
}

// offerName is a parsed regions/{region}/offers/{offer}.
type offerName struct {
	Region string
	ID     string
}

func (n offerName) String() string { return "regions/" + n.Region + "/offers/" + n.ID }

func (n offerName) key() string { return "offer/" + n.ID }

func (n offerName) ref() repo.Ref { return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()} }

// orgKey is the record that makes an organisation number unique in a region.
func orgKey(orgNumber string) string { return "orgnr/" + orgNumber }

// resourceName is regions/{region}/{collection}/{id}, the shape of every
// name this service reads or refers to.
type resourceName struct {
	Region     string
	Collection string
	ID         string
}

func (n resourceName) String() string { return "regions/" + n.Region + "/" + n.Collection + "/" + n.ID }

// parseResource parses regions/{region}/{collection}/{id} for one of the
// collections given.
func parseResource(s string, collections ...string) (resourceName, error) {
	shapes := make([]string, len(collections))
	for i, c := range collections {
		shapes[i] = "regions/{region}/" + c + "/{id}"
	}
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] != "regions" || !contains(collections, parts[2]) {
		return resourceName{}, fmt.Errorf("%q is not of the form %s", s, strings.Join(shapes, " or "))
	}
	if err := resource.CheckSegment(parts[1]); err != nil {
		return resourceName{}, fmt.Errorf("region: %w", err)
	}
	if err := resource.CheckSegment(parts[3]); err != nil {
		return resourceName{}, fmt.Errorf("%s id: %w", strings.TrimSuffix(parts[2], "s"), err)
	}
	return resourceName{Region: parts[1], Collection: parts[2], ID: parts[3]}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parsePartnerName(s string) (partnerName, error) {
	n, err := parseResource(s, "partners")
	if err != nil {
		return partnerName{}, err
	}
	return partnerName{Region: n.Region, ID: n.ID}, nil
}

func parseOfferName(s string) (offerName, error) {
	n, err := parseResource(s, "offers")
	if err != nil {
		return offerName{}, err
	}
	return offerName{Region: n.Region, ID: n.ID}, nil
}

func parseAgreementName(s string) (agreementName, error) {
	parent, id, ok := strings.Cut(s, "/agreements/")
	if !ok {
		return agreementName{}, fmt.Errorf("%q is not of the form regions/{region}/partners/{partner}/agreements/{agreement}", s)
	}
	p, err := parsePartnerName(parent)
	if err != nil {
		return agreementName{}, fmt.Errorf("%q is not of the form regions/{region}/partners/{partner}/agreements/{agreement}", s)
	}
	if err := resource.CheckSegment(id); err != nil {
		return agreementName{}, fmt.Errorf("agreement id: %w", err)
	}
	return agreementName{Partner: p, ID: id}, nil
}
