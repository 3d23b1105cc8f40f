package idea

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// The DEVELOPMENT gate's legal prerequisite is derived from the idea's
// agreements in the partner service, not from a flag anyone with the
// update mask could set: a collaboration or IP agreement whose subject is
// the idea, signed and ACTIVE today. The partner service is asked through
// its generated client as this deployment (auth.AsService, wired in
// cmd/motor), since an advisor's token reads agreements but the check must
// not depend on who asks. The idea keeps agreements_in_place as output only:
// set once the gate found the agreements.

// partnersTimeout bounds the look-up of an idea's agreements.
const partnersTimeout = 5 * time.Second

// maxAgreementPages bounds the pages read of one idea's agreements.
const maxAgreementPages = 20

// gatingKinds are the agreements that settle an idea's legal prerequisite.
func gatingKinds() []partnerv1.AgreementKind {
	return []partnerv1.AgreementKind{partnerv1.AgreementKind_AGREEMENT_KIND_COLLABORATION, partnerv1.AgreementKind_AGREEMENT_KIND_IP}
}

// legal is the outcome of the look-up: what is missing ("" when in place),
// and whether the partner service was asked at all.
type legal struct {
	missing string
	checked bool
}

// legalPrerequisite looks up the agreements of idea name when the move is
// to DEVELOPMENT; other moves need none. A deployment that runs the idea
// service without a partner service (a test of ideas alone) does not check,
// as funding does not check references it has no client for.
func (s *Server) legalPrerequisite(ctx context.Context, name ideaName, to ideav1.Stage) (legal, error) {
	if to != ideav1.Stage_STAGE_DEVELOPMENT || s.partners == nil {
		return legal{}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, partnersTimeout)
	defer cancel()
	subject := name.String()
	req := &partnerv1.ListAgreementsRequest{
		Parent: "regions/" + name.Region + "/partners/-", PageSize: 100,
		Filter: fmt.Sprintf("subject = %q", subject),
	}
	var others []string
	for page := 0; page < maxAgreementPages; page++ {
		resp, err := s.partners.ListAgreements(cctx, req)
		if err != nil {
			return legal{}, domain.New(codes.Unavailable, "AGREEMENTS_UNAVAILABLE",
				"could not read the agreements of idea %s from the partner service (%s); the idea was not moved", name, status.Convert(err).Message())
		}
		for _, a := range resp.GetAgreements() {
			gating := false
			for _, k := range gatingKinds() {
				gating = gating || a.GetKind() == k
			}
			switch {
			case !gating:
				continue
			case a.GetState() == partnerv1.AgreementState_AGREEMENT_STATE_ACTIVE && a.GetSignedTime() != nil:
				return legal{checked: true}, nil
			}
			others = append(others, fmt.Sprintf("%s is %s%s", a.GetName(), a.GetState(), unsigned(a)))
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	m := fmt.Sprintf("a signed, active collaboration or IP agreement (AGREEMENT_KIND_COLLABORATION or AGREEMENT_KIND_IP) with subject %s", subject)
	if len(others) > 0 {
		m += " (" + strings.Join(others, "; ") + ")"
	} else {
		m += " (the partner service has none for the idea)"
	}
	return legal{missing: m, checked: true}, nil
}

func unsigned(a *partnerv1.Agreement) string {
	if a.GetSignedTime() == nil {
		return ", not signed"
	}
	return ""
}

// joinMissing adds the legal prerequisite to what the gate found missing.
func (l legal) joinMissing(m string) string {
	switch {
	case l.missing == "":
		return m
	case m == "":
		return l.missing
	}
	return m + " and " + l.missing
}

// derive sets the output-only flag once the gate found the agreements.
func (l legal) derive(r *record, to ideav1.Stage) {
	if to == ideav1.Stage_STAGE_DEVELOPMENT && l.checked && l.missing == "" {
		r.Msg.AgreementsInPlace = true
	}
}
