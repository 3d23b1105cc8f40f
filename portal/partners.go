package portal

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/auth"
	auditv1 "github.com/innovationsmotorer/motor/proto/innovation/audit/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// orgNumberProblem is what is wrong with a Swedish organisation number as
// typed ("" when it is well formed): ten digits, an optional hyphen after
// the sixth, and a Luhn check digit. The partner service checks it again
// and its answer is the one that counts.
func orgNumberProblem(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 11 && s[6] == '-' {
		s = s[:6] + s[7:]
	}
	if len(s) != 10 {
		return "org.err.length"
	}
	sum := 0
	for i, c := range s {
		if c < '0' || c > '9' {
			return "org.err.digits"
		}
		d := int(c - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if sum%10 != 0 {
		return "org.err.luhn"
	}
	return ""
}

func (p *Portal) listPartners(ctx context.Context, region string) ([]*partnerv1.Partner, error) {
	return collect(func(token string) ([]*partnerv1.Partner, string, error) {
		resp, err := p.cfg.Partners.ListPartners(ctx, &partnerv1.ListPartnersRequest{Parent: "regions/" + region, PageSize: 1000, PageToken: token})
		return resp.GetPartners(), resp.GetNextPageToken(), err
	})
}

type partnersData struct {
	Partners []*partnerv1.Partner
	Done     string
}

// Kinds and Sizes are the partner form's choices.
func (v *view) Kinds() []partnerv1.PartnerKind {
	var out []partnerv1.PartnerKind
	for i := int32(1); partnerv1.PartnerKind_name[i] != ""; i++ {
		out = append(out, partnerv1.PartnerKind(i))
	}
	return out
}

func (v *view) Sizes() []partnerv1.CompanySize {
	var out []partnerv1.CompanySize
	for i := int32(1); partnerv1.CompanySize_name[i] != ""; i++ {
		out = append(out, partnerv1.CompanySize(i))
	}
	return out
}

func (v *view) AgreementKinds() []partnerv1.AgreementKind {
	var out []partnerv1.AgreementKind
	for i := int32(1); partnerv1.AgreementKind_name[i] != ""; i++ {
		out = append(out, partnerv1.AgreementKind(i))
	}
	return out
}

func (p *Portal) staffOnly(w http.ResponseWriter, r *http.Request, s *session) bool {
	if !s.staff() {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return false
	}
	return true
}

func (p *Portal) partners(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.staffOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	list, err := p.listPartners(ctx, s.Region)
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	v := &view{Title: "partners.title", Session: s, Data: &partnersData{Partners: list, Done: doneKey(r.URL.Query().Get("done"))}, Form: p.formOf(w, r)}
	p.render(w, r, http.StatusOK, "partners", v)
}

// checkOrgNumber answers the registration form's htmx request with the
// organisation number's check as it is typed.
func (p *Portal) checkOrgNumber(w http.ResponseWriter, r *http.Request, s *session) {
	v := &view{Session: s, Form: r.PostForm, Fragment: "orgcheck"}
	v.prepare(r, p)
	if n := strings.TrimSpace(r.PostFormValue("org_number")); n != "" {
		if k := orgNumberProblem(n); k != "" {
			v.Errors = map[string]string{"org_number": v.T(k)}
		} else {
			v.Done = "org.ok"
		}
	}
	p.render(w, r, http.StatusOK, "partners", v)
}

func (p *Portal) createPartner(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.staffOnly(w, r, s) {
		return
	}
	f := r.PostForm
	pt := &partnerv1.Partner{DisplayName: strings.TrimSpace(f.Get("display_name")), OrgNumber: strings.TrimSpace(f.Get("org_number")),
		Kind: partnerv1.PartnerKind(partnerv1.PartnerKind_value[f.Get("kind")]), Size: partnerv1.CompanySize(partnerv1.CompanySize_value[f.Get("size")])}
	pt.Capabilities = splitTags(f.Get("capabilities"))
	p.act(w, r, s, "/partners?done=registered", "partners", "partners.title",
		func(ctx context.Context) error {
			_, err := p.cfg.Partners.CreatePartner(ctx, &partnerv1.CreatePartnerRequest{Parent: "regions/" + s.Region, Partner: pt, RequestId: f.Get("request_id")})
			return err
		},
		func(ctx context.Context) (any, error) {
			list, err := p.listPartners(ctx, s.Region)
			return &partnersData{Partners: list}, err
		})
}

type partnerData struct {
	Partner    *partnerv1.Partner
	Agreements []*partnerv1.Agreement
	Done       string
}

func partnerName(r *http.Request) string {
	return "regions/" + r.PathValue("region") + "/partners/" + r.PathValue("partner")
}

func (p *Portal) loadPartner(ctx context.Context, name string) (*partnerData, error) {
	pt, err := p.cfg.Partners.GetPartner(ctx, &partnerv1.GetPartnerRequest{Name: name})
	if err != nil {
		return nil, err
	}
	ag, err := p.cfg.Partners.ListAgreements(ctx, &partnerv1.ListAgreementsRequest{Parent: name, PageSize: 1000})
	if err != nil {
		return nil, err
	}
	return &partnerData{Partner: pt, Agreements: ag.GetAgreements()}, nil
}

func (p *Portal) partnerPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.staffOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.loadPartner(ctx, partnerName(r))
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	d.Done = doneKey(r.URL.Query().Get("done"))
	v := &view{Title: "partner.title", Session: s, Data: d, Form: p.formOf(w, r)}
	p.render(w, r, http.StatusOK, "partner", v)
}

func (p *Portal) createAgreement(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.staffOnly(w, r, s) {
		return
	}
	name := partnerName(r)
	f := r.PostForm
	p.act(w, r, s, "/"+name+"?done=agreed", "partner", "partner.title",
		func(ctx context.Context) error {
			_, err := p.cfg.Partners.CreateAgreement(ctx, &partnerv1.CreateAgreementRequest{Parent: name, RequestId: f.Get("request_id"), Agreement: &partnerv1.Agreement{
				Kind: partnerv1.AgreementKind(partnerv1.AgreementKind_value[f.Get("kind")]), Subject: strings.TrimSpace(f.Get("subject")),
				ValidFrom: strings.TrimSpace(f.Get("valid_from")), ValidTo: strings.TrimSpace(f.Get("valid_to"))}})
			return err
		},
		func(ctx context.Context) (any, error) { return p.loadPartner(ctx, name) })
}

// signAgreement and terminateAgreement are the region admin's buttons on
// the partner page; the partner service checks who may press them.
func (p *Portal) signAgreement(w http.ResponseWriter, r *http.Request, s *session) {
	p.agreementAction(w, r, s, "signed", func(ctx context.Context, name string) error {
		_, err := p.cfg.Partners.SignAgreement(ctx, &partnerv1.SignAgreementRequest{Name: name, Etag: r.PostFormValue("etag")})
		return err
	})
}

func (p *Portal) terminateAgreement(w http.ResponseWriter, r *http.Request, s *session) {
	p.agreementAction(w, r, s, "terminated", func(ctx context.Context, name string) error {
		_, err := p.cfg.Partners.TerminateAgreement(ctx, &partnerv1.TerminateAgreementRequest{Name: name, Etag: r.PostFormValue("etag"), Reason: strings.TrimSpace(r.PostFormValue("reason"))})
		return err
	})
}

func (p *Portal) agreementAction(w http.ResponseWriter, r *http.Request, s *session, done string, call func(ctx context.Context, name string) error) {
	if !p.staffOnly(w, r, s) {
		return
	}
	partner := partnerName(r)
	name := partner + "/agreements/" + r.PathValue("agreement")
	p.act(w, r, s, "/"+partner+"?done="+done, "partner", "partner.title",
		func(ctx context.Context) error { return call(ctx, name) },
		func(ctx context.Context) (any, error) { return p.loadPartner(ctx, partner) })
}

// The audit log: every service's events of the region, newest first,
// filtered on the page.

var auditServices = []string{"idea", "needs", "funding", "partner"}

type auditData struct {
	Service  string
	Services []string
	Events   []*auditv1.AuditEvent
	// More: the log holds more than the page reads.
	More bool
}

const auditMax = 5000

func (p *Portal) readAudit(ctx context.Context, service, region string) ([]*auditv1.AuditEvent, bool, error) {
	var out []*auditv1.AuditEvent
	token := ""
	for len(out) < auditMax {
		var evs []*auditv1.AuditEvent
		var next string
		var err error
		parent := "regions/" + region
		switch service {
		case "idea":
			var resp *ideav1.ListAuditEventsResponse
			resp, err = p.cfg.Ideas.ListAuditEvents(ctx, &ideav1.ListAuditEventsRequest{Parent: parent, PageSize: 1000, PageToken: token})
			evs, next = resp.GetEvents(), resp.GetNextPageToken()
		case "needs":
			var resp *needsv1.ListAuditEventsResponse
			resp, err = p.cfg.Needs.ListAuditEvents(ctx, &needsv1.ListAuditEventsRequest{Parent: parent, PageSize: 1000, PageToken: token})
			evs, next = resp.GetEvents(), resp.GetNextPageToken()
		case "partner":
			var resp *partnerv1.ListAuditEventsResponse
			resp, err = p.cfg.Partners.ListAuditEvents(ctx, &partnerv1.ListAuditEventsRequest{Parent: parent, PageSize: 1000, PageToken: token})
			evs, next = resp.GetEvents(), resp.GetNextPageToken()
		case "funding":
			if p.cfg.Subprojects == nil {
				return nil, false, nil
			}
			var resp *fundingv1.ListAuditEventsResponse
			resp, err = p.cfg.Subprojects.ListAuditEvents(ctx, &fundingv1.ListAuditEventsRequest{Parent: parent, PageSize: 1000, PageToken: token})
			evs, next = resp.GetEvents(), resp.GetNextPageToken()
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, evs...)
		if token = next; token == "" {
			break
		}
	}
	slices.Reverse(out)
	return out, token != "", nil
}

func (p *Portal) audit(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.has(auth.RegionAdmin) {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return
	}
	q := r.URL.Query()
	service := q.Get("service")
	if !slices.Contains(auditServices, service) {
		service = "idea"
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	events, more, err := p.readAudit(ctx, service, s.Region)
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	actor, action, res := strings.TrimSpace(q.Get("actor")), strings.TrimSpace(q.Get("action")), strings.TrimSpace(q.Get("resource"))
	d := &auditData{Service: service, Services: auditServices, More: more}
	for _, e := range events {
		if strings.Contains(e.GetActor(), actor) && strings.Contains(strings.ToLower(e.GetAction()), strings.ToLower(action)) && strings.Contains(e.GetResource(), res) {
			d.Events = append(d.Events, e)
		}
	}
	form := url.Values{"service": {service}, "actor": {actor}, "action": {action}, "resource": {res}}
	p.render(w, r, http.StatusOK, "audit", &view{Title: "audit.title", Session: s, Data: d, Form: form})
}
