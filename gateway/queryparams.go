package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

// Query parameters a route does not know are refused: grpc-gateway would
// ignore them, and `?search=dialys` answering every idea reads as a search
// that found everything (the lists search with q). The routes and the query parameters each takes come from
// the OpenAPI document generated from the same HTTP rules, so they cannot
// drift apart.

// queryRoute is one operation of the OpenAPI document.
type queryRoute struct {
	method string
	path   pathMatcher
	params []string // lowerCamelCase, as the document names them
	// service is the operation's tag: the gRPC service behind it
	// ("IdeaService").
	service string
}

// pathMatcher matches a request path against one path template of the
// document. The templates' parameters take any one segment ([^/]+), so most
// match segment by segment, without the regexp every request ran through
// for every route; a template holding anything else (a parameter with a
// pattern of its own, two parameters in one segment) keeps its regexp.
type pathMatcher struct {
	re *regexp.Regexp
	// segs, when set, are the template's '/'-separated segments.
	segs []pathSegment
}

// pathSegment is a literal, or prefix{param}suffix where the parameter is
// at least one character and no '/'.
type pathSegment struct {
	prefix, suffix string
	param          bool
}

// MatchString reports whether path matches the whole template.
func (m pathMatcher) MatchString(path string) bool {
	if m.segs == nil {
		return m.re.MatchString(path)
	}
	rest := path
	for i, s := range m.segs {
		seg := rest
		if i < len(m.segs)-1 {
			var ok bool
			if seg, rest, ok = strings.Cut(rest, "/"); !ok {
				return false
			}
		} else if strings.IndexByte(seg, '/') >= 0 {
			return false
		}
		if !s.param {
			if seg != s.prefix {
				return false
			}
			continue
		}
		if len(seg) <= len(s.prefix)+len(s.suffix) || !strings.HasPrefix(seg, s.prefix) || !strings.HasSuffix(seg, s.suffix) {
			return false
		}
	}
	return true
}

// segments splits a template whose parameters all take any one segment, or
// reports that it cannot.
func segments(tmpl string, patterns map[string]string) ([]pathSegment, bool) {
	var out []pathSegment
	for _, seg := range strings.Split(tmpl, "/") {
		ms := templateParam.FindAllStringSubmatchIndex(seg, -1)
		switch {
		case len(ms) == 0:
			if strings.ContainsAny(seg, "{}") {
				return nil, false
			}
			out = append(out, pathSegment{prefix: seg})
		case len(ms) == 1:
			m := ms[0]
			if pat := patterns[seg[m[2]:m[3]]]; pat != "" && pat != "[^/]+" {
				return nil, false
			}
			prefix, suffix := seg[:m[0]], seg[m[1]:]
			if strings.ContainsAny(prefix+suffix, "{}") {
				return nil, false
			}
			out = append(out, pathSegment{prefix: prefix, suffix: suffix, param: true})
		default:
			return nil, false
		}
	}
	return out, true
}

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Tags       []string `json:"tags"`
		Parameters []struct {
			Name    string `json:"name"`
			In      string `json:"in"`
			Pattern string `json:"pattern"`
		} `json:"parameters"`
	} `json:"paths"`
}

var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

// queryRoutes reads the routes of the OpenAPI 3.1 document.
func queryRoutes(doc []byte) ([]queryRoute, error) {
	var d openAPIDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	var out []queryRoute
	for tmpl, ops := range d.Paths {
		for method, op := range ops {
			patterns := map[string]string{}
			r := queryRoute{method: strings.ToUpper(method)}
			if len(op.Tags) > 0 {
				r.service = op.Tags[0]
			}
			for _, p := range op.Parameters {
				switch p.In {
				case "path":
					patterns[p.Name] = p.Pattern
				case "query":
					r.params = append(r.params, p.Name)
				}
			}
			var expr strings.Builder
			last := 0
			for _, m := range templateParam.FindAllStringSubmatchIndex(tmpl, -1) {
				expr.WriteString(regexp.QuoteMeta(tmpl[last:m[0]]))
				pat := patterns[tmpl[m[2]:m[3]]]
				if pat == "" {
					pat = "[^/]+"
				}
				expr.WriteString("(?:" + pat + ")")
				last = m[1]
			}
			expr.WriteString(regexp.QuoteMeta(tmpl[last:]))
			re, err := regexp.Compile("^" + expr.String() + "$")
			if err != nil {
				return nil, fmt.Errorf("openapi path %s: %w", tmpl, err)
			}
			r.path = pathMatcher{re: re}
			if segs, ok := segments(tmpl, patterns); ok {
				r.path.segs = segs
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// camel turns a snake_case query parameter (grpc-gateway takes both
// spellings) into the document's lowerCamelCase, part by dotted part.
func camel(s string) string {
	var b strings.Builder
	up := false
	for _, c := range s {
		switch {
		case c == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(c)))
			up = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// rejectUnknownQuery answers 400, naming every unknown parameter, for a
// request to a known route with query parameters that route does not take.
// Requests matching no route pass through (the mux answers them).
func rejectUnknownQuery(next http.Handler) http.Handler {
	routes, err := queryRoutes(openAPI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			// The document is embedded at build time; the tests read it.
			writeStatus(w, http.StatusInternalServerError, codes.Internal, "OPENAPI_UNREADABLE", "the gateway cannot read its route table")
			return
		}
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r)
			return
		}
		var allowed []string
		matched := false
		for _, rt := range routes {
			if rt.method == r.Method && rt.path.MatchString(r.URL.Path) {
				matched = true
				allowed = append(allowed, rt.params...)
			}
		}
		if !matched {
			next.ServeHTTP(w, r)
			return
		}
		var unknown []string
		for name := range r.URL.Query() {
			if !slices.Contains(allowed, camel(name)) {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		slices.Sort(unknown)
		slices.Sort(allowed)
		allowed = slices.Compact(allowed)
		takes := "no query parameters"
		if len(allowed) > 0 {
			takes = "only " + strings.Join(allowed, ", ")
		}
		br := &errdetails.BadRequest{}
		for _, u := range unknown {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: u, Description: fmt.Sprintf("is not a query parameter of %s %s (it takes %s)", r.Method, r.URL.Path, takes),
			})
		}
		msg := fmt.Sprintf("unknown query parameter %s: %s %s takes %s", strings.Join(unknown, ", "), r.Method, r.URL.Path, takes)
		writeStatus(w, http.StatusBadRequest, codes.InvalidArgument, "UNKNOWN_QUERY_PARAMETER", msg, br)
	})
}
