package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// view is what every page template gets: the person, the language, the
// form being shown with its errors, and the page's own data.
type view struct {
	Title   string // a message key
	Lang    string
	Path    string
	Session *session
	CSRF    string
	DevMode bool
	OIDC    bool
	// Form holds the values a form is shown with: what was typed, restored
	// after sign-in, or kept over an error.
	Form url.Values
	// Errors are field messages by form field name, from the service's
	// BadRequest field violations.
	Errors map[string]string
	// Alert is a message for the whole page (a refused move, a conflict).
	Alert string
	// AlertKind: "error", "conflict" (offer a reload), "retry", "ok".
	AlertKind string
	// Done is the message key of what just succeeded.
	Done string
	// Fragment, when set, renders that template alone (an htmx answer).
	Fragment string
	Data     any
	now      time.Time
}

func (v *view) prepare(r *http.Request, p *Portal) {
	v.Lang = chooseLang(r)
	v.Path = r.URL.Path
	if v.Session == nil {
		v.Session = p.cookies.session(r, p.now())
	}
	if v.Session != nil {
		v.CSRF = v.Session.CSRF
	}
	v.DevMode = p.cfg.DevSigner != nil
	v.OIDC = p.oidc != nil
	v.now = p.now()
	if v.Form == nil {
		v.Form = url.Values{}
	}
}

// T translates a message key.
func (v *view) T(key string) string { return translate(v.Lang, key) }

// V is the value of form field name.
func (v *view) V(name string) string { return v.Form.Get(name) }

// Checked reports whether checkbox name was ticked.
func (v *view) Checked(name string) bool { return v.Form.Get(name) != "" }

// Selected reports whether field name has value.
func (v *view) Selected(name, value string) bool { return v.Form.Get(name) == value }

// Err is the message for field name ("" when it is fine).
func (v *view) Err(name string) string { return v.Errors[name] }

func (v *view) Date(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return formatDate(ts.AsTime(), v.Lang)
}

func (v *view) DateTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return formatDateTime(ts.AsTime(), v.Lang)
}

func (v *view) ISO(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

func (v *view) Kronor(ore int64) string         { return formatKronor(ore) }
func (v *view) Score(f float64) string          { return formatScore(f, v.Lang) }
func (v *view) Stage(s ideav1.Stage) string     { return v.T(strings.ToLower(s.String())) }
func (v *view) Origin(o ideav1.Origin) string   { return v.T(strings.ToLower(o.String())) }
func (v *view) IPOwner(o ideav1.IpOwner) string { return v.T(strings.ToLower(o.String())) }
func (v *view) NeedStatus(s needsv1.NeedStatus) string {
	return v.T(strings.ToLower(s.String()))
}
func (v *view) OfferStatus(s partnerv1.OfferStatus) string {
	return v.T(strings.ToLower(s.String()))
}

// Enum is an enum value's label: its lowercased full name is the key.
func (v *view) Enum(e interface{ String() string }) string { return v.T(strings.ToLower(e.String())) }

// Origins are the choices of the origin field.
func (v *view) Origins() []ideav1.Origin {
	var out []ideav1.Origin
	for i := int32(1); ideav1.Origin_name[i] != ""; i++ {
		out = append(out, ideav1.Origin(i))
	}
	return out
}

// IPOwners are the choices of the IP owner field.
func (v *view) IPOwners() []ideav1.IpOwner {
	var out []ideav1.IpOwner
	for i := int32(1); ideav1.IpOwner_name[i] != ""; i++ {
		out = append(out, ideav1.IpOwner(i))
	}
	return out
}

// Scores are the steps of a scorecard.
func (v *view) Scores() []string { return []string{"1", "2", "3", "4", "5"} }

// Statement is a need's Biodesign statement in the page's language.
func (v *view) Statement(n *needsv1.Need) string {
	if v.Lang == langEN {
		return "A way to " + n.GetProblem() + " in " + n.GetPopulation() + " in order to " + n.GetOutcome()
	}
	return "Ett sätt att " + n.GetProblem() + " hos " + n.GetPopulation() + " för att " + n.GetOutcome()
}

// RegionName is a region's name as people write it.
func (v *view) RegionName(id string) string {
	if id == auth.NationalRegion {
		return v.T("region.national")
	}
	if n, ok := regionNames[id]; ok {
		return n
	}
	return id
}

// Has: the person holds role.
func (v *view) Has(role string) bool { return v.Session.has(auth.Role(role)) }

// Submits: the person may submit ideas and needs (everyone signed in
// but company users and national coordinators, whose tokens are theirs).
func (v *view) Submits() bool {
	return v.Session.has(auth.Submitter) || !v.Session.has(auth.Partner) && !v.Session.has(auth.Coordinator)
}

// Staff: advisors and region admins.
func (v *view) Staff() bool { return v.Session.staff() }

// failure is what a page shows for an error from a service.
type failure struct {
	code    int
	key     string // message key of the page-level alert
	kind    string // error, conflict, retry
	message string // the service's own message, where a person can act on it
	fields  map[string]string
	signin  bool // the token ran out: sign in again
}

// explain turns a gRPC error into what a person understands. Internal
// details never reach the page: only messages the services wrote for
// people (refused moves, bad fields) are shown as they are.
func explain(err error, lang string) failure {
	st, _ := status.FromError(err)
	f := failure{code: http.StatusInternalServerError, key: "err.internal", kind: "error"}
	switch st.Code() {
	case codes.InvalidArgument:
		f = failure{code: http.StatusBadRequest, key: "err.fields", kind: "error", fields: fieldErrors(st, lang)}
		if len(f.fields) == 0 {
			f.message = st.Message()
		}
	case codes.FailedPrecondition:
		f = failure{code: http.StatusBadRequest, key: "err.refused", kind: "error", message: st.Message()}
	case codes.Aborted:
		f = failure{code: http.StatusConflict, key: "err.conflict", kind: "conflict"}
	case codes.AlreadyExists:
		f = failure{code: http.StatusConflict, key: "err.exists", kind: "error", message: st.Message()}
	case codes.NotFound:
		f = failure{code: http.StatusNotFound, key: "err.notfound", kind: "error"}
	case codes.PermissionDenied:
		f = failure{code: http.StatusForbidden, key: "err.forbidden", kind: "error"}
	case codes.Unauthenticated:
		f = failure{code: http.StatusUnauthorized, key: "err.signin", kind: "error", signin: true}
	case codes.ResourceExhausted, codes.Unavailable, codes.DeadlineExceeded:
		f = failure{code: http.StatusServiceUnavailable, key: "err.retry", kind: "retry"}
	}
	if errors.Is(err, errNoSuchRegion) {
		f = failure{code: http.StatusNotFound, key: "err.notfound", kind: "error"}
	}
	return f
}

var errNoSuchRegion = errors.New("no such region")

// fieldErrors maps BadRequest violations ("idea.title", "need.problem",
// "screening.feasibility") onto form field names (the last part).
func fieldErrors(st *status.Status, lang string) map[string]string {
	out := map[string]string{}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			field := v.GetField()
			// A field of a repeated part ("subproject.budget_lines[2].amount_ore")
			// is also kept by its path ("budget_lines.2.amount_ore"), so a
			// form of rows can show it on its row.
			if _, path, ok := strings.Cut(field, "."); ok && strings.Contains(path, "[") {
				path = strings.NewReplacer("[", ".", "]", "").Replace(path)
				if _, seen := out[path]; !seen {
					out[path] = describe(v.GetDescription(), lang)
				}
			}
			if i := strings.LastIndex(field, "."); i >= 0 {
				field = field[i+1:]
			}
			if _, seen := out[field]; seen {
				continue
			}
			out[field] = describe(v.GetDescription(), lang)
		}
	}
	return out
}

// describe words the most common violations in the page's language and
// keeps the service's own words for the rest.
func describe(desc, lang string) string {
	switch {
	case strings.HasPrefix(desc, "is required"):
		return translate(lang, "err.required")
	case strings.Contains(desc, "too long") || strings.Contains(desc, "at most"):
		return translate(lang, "err.toolong") + " (" + desc + ")"
	}
	return desc
}

// show applies f to v: the alert, the field errors.
func (v *view) show(f failure) {
	v.AlertKind = f.kind
	v.Alert = v.T(f.key)
	if f.message != "" {
		v.Alert += " " + f.message
	}
	v.Errors = f.fields
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a return path on this site: a path, never a URL elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// fieldView is one form field with its label, hint and error.
type fieldView struct {
	V        *view
	Name     string
	Label    string
	Hint     string
	Required bool
	Value    string
	Error    string
}

// Field describes form field name for the input and textarea templates.
func (v *view) Field(name, label, hint string, required bool) fieldView {
	f := fieldView{V: v, Name: name, Label: v.T(label), Required: required, Value: v.V(name), Error: v.Err(name)}
	if hint != "" {
		f.Hint = v.T(hint)
	}
	return f
}

type historyView struct {
	V       *view
	Entries []*ideav1.HistoryEntry
}

// History is an idea's history for the timeline template.
func (v *view) History(entries []*ideav1.HistoryEntry) historyView {
	return historyView{V: v, Entries: entries}
}

// StaffOf: the person works the region the resource name belongs to.
func (v *view) StaffOf(name string) bool {
	return v.Session.staff() && v.Session.Region == regionOf(name)
}
