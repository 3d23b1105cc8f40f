package portal

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
)

// personRoutes are the signed-in person's own data: a readable page and
// the same as one JSON document to download (GDPR articles 15 and 20).
func (p *Portal) personRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /me/data", p.signedIn(p.myData))
	mux.HandleFunc("GET /me/data.json", p.signedIn(p.myDataJSON))
}

// myDataView is what the page shows of a person's data.
type myDataView struct {
	Data *personv1.PersonData
	// Counts per kind of record, for the summary table.
	Counts []dataCount
}

type dataCount struct {
	Key string // message key of the kind
	N   int
}

func (p *Portal) exportMine(w http.ResponseWriter, r *http.Request, s *session) (*personv1.PersonData, bool) {
	if p.cfg.Persons == nil {
		p.notFound(w, r)
		return nil, false
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.cfg.Persons.ExportPersonData(ctx, &personv1.ExportPersonDataRequest{Name: "regions/" + s.Region + "/persons/me"})
	if err != nil {
		p.failRPC(w, r, err)
		return nil, false
	}
	return d, true
}

func (p *Portal) myData(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := p.exportMine(w, r, s)
	if !ok {
		return
	}
	v := myDataView{Data: d, Counts: []dataCount{
		{"mydata.ideas", len(d.GetIdea().GetIdeas())},
		{"mydata.decisions", len(d.GetIdea().GetHistory()) + len(d.GetNeeds().GetHistory())},
		{"mydata.assessments", len(d.GetIdea().GetAssessments())},
		{"mydata.needs", len(d.GetNeeds().GetNeeds())},
		{"mydata.screenings", len(d.GetNeeds().GetScreenings())},
		{"mydata.offers", len(d.GetPartner().GetOffers())},
		{"mydata.notifications", len(d.GetNotify().GetNotifications())},
		{"mydata.audit", len(d.GetIdea().GetAuditEvents()) + len(d.GetNeeds().GetAuditEvents()) + len(d.GetPartner().GetAuditEvents()) +
			len(d.GetFunding().GetAuditEvents()) + len(d.GetReports().GetAuditEvents())},
	}}
	p.render(w, r, http.StatusOK, "mydata", &view{Title: "mydata.title", Session: s, Data: v})
}

// myDataJSON is the download: the person service's document as it is,
// protojson like the REST route, so the two copies agree.
func (p *Portal) myDataJSON(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := p.exportMine(w, r, s)
	if !ok {
		return
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(d)
	if err != nil {
		p.logger.Error("portal: encoding a person's data", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="motor-`+strings.ReplaceAll(s.Region, `"`, "")+`-mina-uppgifter.json"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
