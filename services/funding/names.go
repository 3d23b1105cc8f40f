package funding

import (
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// Resource names of docs/architecture.md ("Contracts and REST routes") and the store keys they map to. A region's
// records live in the namespace funding:{region}; the ledger's in
// funding:national.

type subprojectName struct {
	Region string
	ID     string
}

func (n subprojectName) String() string { return "regions/" + n.Region + "/subprojects/" + n.ID }
func (n subprojectName) key() string    { return "subproject/" + n.ID }
func (n subprojectName) ref() repo.Ref {
	return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()}
}

type costReportName struct {
	Subproject subprojectName
	ID         string
}

func (n costReportName) String() string { return n.Subproject.String() + "/costReports/" + n.ID }
func (n costReportName) key() string    { return "costreport/" + n.Subproject.ID + "/" + n.ID }
func (n costReportName) ref() repo.Ref {
	return repo.Ref{Region: n.Subproject.Region, Key: n.key(), Name: n.String()}
}

type programmeName struct{ ID string }

func (n programmeName) String() string { return "programmes/" + n.ID }
func (n programmeName) key() string    { return "programme/" + n.ID }
func (n programmeName) ref() repo.Ref {
	return repo.Ref{Region: auth.NationalRegion, Key: n.key(), Name: n.String()}
}

// allocationName is derived from the subproject, so one subproject has at
// most one allocation, whatever programme it names.
func allocationName(p programmeName, sub subprojectName) string {
	return p.String() + "/allocations/" + sub.Region + "-" + sub.ID
}

// allocationKey is keyed by the subproject alone: the allocation record is
// the reservation's idempotency key.
func allocationKey(sub subprojectName) string { return "allocation/" + sub.String() }

// allocationRef is the allocation of sub on programme p.
func allocationRef(p programmeName, sub subprojectName) repo.Ref {
	return repo.Ref{Region: auth.NationalRegion, Key: allocationKey(sub), Name: allocationName(p, sub)}
}

// paymentRef is the payment for a cost report.
func paymentRef(report costReportName) repo.Ref {
	return repo.Ref{Region: auth.NationalRegion, Key: paymentKey(report), Name: report.String()}
}

// paymentKey is keyed by the cost report: the payment record is the
// payment's idempotency key.
func paymentKey(report costReportName) string { return "payment/" + report.String() }

func parseSubprojectName(s string) (subprojectName, error) {
	ids, err := resource.Split(s, "regions", "subprojects")
	if err != nil {
		return subprojectName{}, err
	}
	return subprojectName{Region: ids[0], ID: ids[1]}, nil
}

func parseCostReportName(s string) (costReportName, error) {
	ids, err := resource.Split(s, "regions", "subprojects", "costReports")
	if err != nil {
		return costReportName{}, err
	}
	return costReportName{Subproject: subprojectName{Region: ids[0], ID: ids[1]}, ID: ids[2]}, nil
}

func parseProgrammeName(s string) (programmeName, error) {
	ids, err := resource.Split(s, "programmes")
	if err != nil {
		return programmeName{}, err
	}
	return programmeName{ID: ids[0]}, nil
}
