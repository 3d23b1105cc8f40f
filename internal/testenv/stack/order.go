package stack

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
)

// Lister reads one page of a list in order (an AIP-132 order_by), of at
// most size items, continuing after token; it returns the names listed
// and the next page token.
type Lister func(t testing.TB, order string, size int32, token string) (names []string, next string, err error)

// Ordered is what a list must return in one order.
type Ordered struct {
	Order string
	Want  []string
}

// CheckOrders pages through the list in every order of cases with pages of
// two, so that each order holds across pages, and checks that a page token
// of one order is refused with another: page_token, INVALID_ARGUMENT.
// Every case needs three items or more, so its list spans two pages.
func CheckOrders(t *testing.T, list Lister, cases ...Ordered) {
	t.Helper()
	for _, c := range cases {
		if len(c.Want) < 3 {
			t.Fatalf("order %q: %d items do not span two pages of two", c.Order, len(c.Want))
		}
		var got []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 50 {
				t.Fatalf("order %q: pagination does not end", c.Order)
			}
			names, next, err := list(t, c.Order, 2, token)
			if err != nil {
				t.Fatalf("order %q: %v", c.Order, err)
			}
			if len(names) > 2 {
				t.Fatalf("order %q: page of %d, want at most 2", c.Order, len(names))
			}
			got = append(got, names...)
			if token = next; token == "" {
				break
			}
		}
		if diff := cmp.Diff(c.Want, got); diff != "" {
			t.Errorf("order_by %q (-want +got):\n%s", c.Order, diff)
		}
	}
	if len(cases) < 2 {
		return
	}
	canon := func(o string) string { s, _ := resource.CanonicalOrder(o); return s }
	for i, c := range cases {
		// The next case of another order ("" and the default spelled out
		// are not told apart: a call has one or the other).
		other := cases[(i+1)%len(cases)]
		for j := 2; canon(other.Order) == canon(c.Order) && j < len(cases); j++ {
			other = cases[(i+j)%len(cases)]
		}
		if canon(other.Order) == canon(c.Order) {
			continue
		}
		_, token, err := list(t, c.Order, 1, "")
		if err != nil || token == "" {
			t.Fatalf("order %q, first page of one: token %q, %v", c.Order, token, err)
		}
		_, _, err = list(t, other.Order, 1, token)
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(Violations(err), "page_token") {
			t.Errorf("token of order %q used with %q: %v, want INVALID_ARGUMENT on page_token", c.Order, other.Order, err)
		}
	}
}

// Violations are the fields an error's BadRequest detail names.
func Violations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// CheckBadOrderREST asks path (a list's REST route, which may carry a
// query already) for an order it does not serve, as c, and expects 400
// with an order_by violation that names every order in supported.
func (e *Env) CheckBadOrderREST(t *testing.T, c Caller, path string, supported ...string) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	code, body := e.REST(t, c, "GET", path+sep+"orderBy="+url.QueryEscape("no_such_field desc"), "")
	if code != 400 {
		t.Fatalf("GET %s with a bad orderBy: %d %v, want 400", path, code, body)
	}
	var desc string
	details, _ := body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		vs, _ := m["fieldViolations"].([]any)
		for _, v := range vs {
			fv, _ := v.(map[string]any)
			if fv["field"] == "order_by" {
				desc, _ = fv["description"].(string)
			}
		}
	}
	if desc == "" {
		t.Fatalf("GET %s with a bad orderBy: no order_by violation in %v", path, body)
	}
	for _, s := range supported {
		if !strings.Contains(desc, s) {
			t.Errorf("order_by violation %q does not name the order %q", desc, s)
		}
	}
}

// KeepIndexes rewrites every record of ns that one of indexes lists with
// exactly its entries on those indexes, values as they are: records as an
// earlier version of a service indexed them, before it added an index.
func (e *Env) KeepIndexes(t testing.TB, ns store.Namespace, indexes ...string) {
	t.Helper()
	entries := map[string][]store.IndexEntry{}
	records := map[string]store.Record{}
	var keys []string
	for _, index := range indexes {
		q := store.Query{Index: index, Limit: 1000}
		for {
			page, err := e.Store.Scan(t.Context(), ns, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				if _, ok := records[it.Record.Key]; !ok {
					keys = append(keys, it.Record.Key)
				}
				records[it.Record.Key] = it.Record
				entries[it.Record.Key] = append(entries[it.Record.Key], store.IndexEntry{Index: index, Term: it.Term})
				q.After = it.Cursor
			}
			if !page.More {
				break
			}
		}
	}
	var w store.Write
	for _, k := range keys {
		r := records[k]
		w.Puts = append(w.Puts, store.Put{Key: k, Value: r.Value, Version: r.Version, Index: entries[k]})
	}
	if len(w.Puts) == 0 {
		t.Fatalf("no records on %v", indexes)
	}
	if _, err := e.Store.Commit(t.Context(), ns, w); err != nil {
		t.Fatal(err)
	}
}
