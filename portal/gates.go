package portal

import (
	"strings"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// gateOption is one move the idea page shows an advisor: offered as a
// button, or not offered with the prerequisites it lacks.
//
// The idea service stays the authority on every move; this only saves the
// advisor a refused click, and its reasons mirror the service's gate table.
type gateOption struct {
	Stage     ideav1.Stage
	Offered   bool
	Missing   []string // message keys
	Rationale bool     // the move needs a rationale
}

func finalStage(st ideav1.Stage) bool {
	switch st {
	case ideav1.Stage_STAGE_IMPLEMENTED, ideav1.Stage_STAGE_COMMERCIALISED, ideav1.Stage_STAGE_SPREAD,
		ideav1.Stage_STAGE_REJECTED, ideav1.Stage_STAGE_WITHDRAWN:
		return true
	}
	return false
}

// gateOptions lists the moves from the idea's stage, in pipeline order.
func gateOptions(idea *ideav1.Idea) []gateOption {
	from := idea.GetStage()
	var out []gateOption
	add := func(to ideav1.Stage, froms []ideav1.Stage, missing ...string) {
		ok := false
		for _, f := range froms {
			ok = ok || f == from
		}
		if !ok {
			return
		}
		var m []string
		for _, k := range missing {
			if k != "" {
				m = append(m, k)
			}
		}
		out = append(out, gateOption{Stage: to, Offered: len(m) == 0, Missing: m})
	}
	const (
		submitted   = ideav1.Stage_STAGE_SUBMITTED
		screening   = ideav1.Stage_STAGE_SCREENING
		selected    = ideav1.Stage_STAGE_SELECTED
		development = ideav1.Stage_STAGE_DEVELOPMENT
		testing     = ideav1.Stage_STAGE_TESTING
		implemented = ideav1.Stage_STAGE_IMPLEMENTED
		commercial  = ideav1.Stage_STAGE_COMMERCIALISED
		parked      = ideav1.Stage_STAGE_PARKED
	)
	when := func(cond bool, key string) string {
		if cond {
			return key
		}
		return ""
	}
	add(screening, []ideav1.Stage{submitted, parked})
	add(selected, []ideav1.Stage{screening}, when(idea.GetAssessmentSummary().GetCount() == 0, "gate.need.assessment"))
	ip := idea.GetIpOwner()
	add(development, []ideav1.Stage{selected, testing},
		// The agreements are the partner service's: the idea service
		// checks them on the move and names a missing one.
		when(ip == ideav1.IpOwner_IP_OWNER_UNKNOWN || ip == ideav1.IpOwner_IP_OWNER_UNSPECIFIED, "gate.need.ipowner"))
	add(testing, []ideav1.Stage{development}, when(strings.TrimSpace(idea.GetTestEnvironment()) == "", "gate.need.testenv"))
	add(implemented, []ideav1.Stage{testing})
	add(commercial, []ideav1.Stage{testing}, when(strings.TrimSpace(idea.GetPartner()) == "", "gate.need.partner"))
	add(ideav1.Stage_STAGE_SPREAD, []ideav1.Stage{implemented, commercial}, "gate.need.spread")
	if !finalStage(from) {
		if from != parked {
			out = append(out, gateOption{Stage: parked, Offered: true, Rationale: true})
		}
		out = append(out, gateOption{Stage: ideav1.Stage_STAGE_REJECTED, Offered: true, Rationale: true})
	}
	return out
}
