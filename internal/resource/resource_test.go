package resource

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		cols    []string
		want    []string
		wantErr string
	}{
		{"idea", "regions/uppsala/ideas/abc-1", []string{"regions", "ideas"}, []string{"uppsala", "abc-1"}, ""},
		{"nested", "regions/x/subprojects/y/costReports/z", []string{"regions", "subprojects", "costReports"}, []string{"x", "y", "z"}, ""},
		{"wrong collection", "regions/x/needs/y", []string{"regions", "ideas"}, nil, "regions/{region}/ideas/{idea}"},
		{"too short", "regions/x", []string{"regions", "ideas"}, nil, "not of the form"},
		{"upper case id", "regions/X/ideas/y", []string{"regions", "ideas"}, nil, "region id"},
		{"empty id", "regions//ideas/y", []string{"regions", "ideas"}, nil, "empty"},
		{"path trick", "regions/x/ideas/../y", []string{"regions", "ideas"}, nil, "not of the form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Split(tc.in, tc.cols...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Split(%q) error %v, want one mentioning %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Split(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestPageTokens(t *testing.T) {
	q := Digest("regions/uppsala", "stage = STAGE_SCREENING")
	tok := EncodeToken("cursor\x00x", q)
	var v errs.Violations
	if got := DecodeToken(&v, tok, q); got != "cursor\x00x" || v.Len() != 0 {
		t.Fatalf("round trip: %q, %d violations", got, v.Len())
	}
	for _, bad := range []struct{ tok, query string }{{tok, Digest("regions/uppsala")}, {"!!", q}, {"e30", q}} {
		var v errs.Violations
		if got := DecodeToken(&v, bad.tok, bad.query); got != "" || v.Len() != 1 {
			t.Errorf("DecodeToken(%q) = %q with %d violations, want a page_token violation", bad.tok, got, v.Len())
		}
	}
	var sv errs.Violations
	if PageSize(&sv, 0) != DefaultPageSize || PageSize(&sv, 5000) != MaxPageSize || PageSize(&sv, 7) != 7 || sv.Len() != 0 {
		t.Error("PageSize defaults or caps wrong")
	}
	if PageSize(&sv, -1); sv.Len() != 1 {
		t.Error("negative page_size accepted")
	}
}

func TestServed(t *testing.T) {
	served, err := config.ParseServed("uppsala")
	if err != nil {
		t.Fatal(err)
	}
	const d errs.Domain = "test.motor"
	if err := Served(d, served, "uppsala"); err != nil {
		t.Errorf("served region refused: %v", err)
	}
	if err := Served(d, served, "skane"); err == nil || !strings.Contains(err.Error(), "not served") {
		t.Errorf("unserved region: %v", err)
	}
	if err := Served(d, served, "atlantis"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown region: %v", err)
	}
}

func TestMaskPath(t *testing.T) {
	for in, want := range map[string]string{"careArea": "care_area", "care_area": "care_area", "submitter.displayName": "submitter.display_name", "ipOwner": "ip_owner"} {
		if got := MaskPath(in); got != want {
			t.Errorf("MaskPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckTextAndRequestID(t *testing.T) {
	var v errs.Violations
	CheckText(&v, "ok", "Två rader\nmed tabb\t", 50, true)
	if v.Len() != 0 {
		t.Fatalf("line breaks and tabs refused: %v", v.Fields())
	}
	CheckText(&v, "nul", "a\x00b", 50, false)
	CheckText(&v, "escape", "\x1b[31m", 50, false)
	CheckText(&v, "empty", "  ", 50, true)
	CheckText(&v, "long", strings.Repeat("å", 51), 50, false)
	CheckText(&v, "utf8", "\xff", 50, false)
	CheckRequestID(&v, "has space")
	CheckRequestID(&v, "a/b")
	CheckRequestID(&v, "")
	CheckRequestID(&v, "form-42")
	want := []string{"empty", "escape", "long", "nul", "request_id", "request_id", "utf8"}
	if diff := cmp.Diff(want, v.Fields()); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	for p, ok := range map[string]bool{"070-123 45 67": true, "+46 (0)18 611 00 00": true, "12345": false, "call me": false} {
		if ValidPhone(p) != ok {
			t.Errorf("ValidPhone(%q) = %v, want %v", p, !ok, ok)
		}
	}
}

func TestUpdatePaths(t *testing.T) {
	got := UpdatePaths([]string{"careArea", "etag", "name", "care_area", "submitter.displayName"})
	if diff := cmp.Diff([]string{"care_area", "submitter.display_name"}, got); diff != "" {
		t.Errorf("UpdatePaths (-want +got):\n%s", diff)
	}
}

func TestOrders(t *testing.T) {
	orders := Orders{"create_time desc", "create_time", "update_time desc", "priority_score desc"}
	for _, tc := range []struct {
		in      string
		want    int
		wantErr []string // parts of the order_by violation; nil: none
	}{
		{"", 0, nil},
		{"   ", 0, nil},
		{"create_time desc", 0, nil},
		{"createTime desc", 0, nil},
		{"  createTime   DESC ", 0, nil},
		{"create_time", 1, nil},
		{"create_time asc", 1, nil},
		{"createTime", 1, nil},
		{"updateTime desc", 2, nil},
		{"priority_score desc", 3, nil},
		{"priorityScore\tdesc", 3, nil},
		{"update_time", 0, []string{`"update_time" is not an order this list supports`, "create_time desc (the default)", "priority_score desc"}},
		{"create_time desc, priority_score desc", 0, []string{"not an order this list supports"}},
		{"title, owner desc, title", 0, []string{"cannot be ordered by title, owner;", "update_time desc"}},
		{"create_time sideways", 0, []string{`"sideways" after create_time is not asc or desc`, "create_time desc (the default)"}},
		{"create_time desc,", 0, []string{"part 2", "not `field` or `field desc`"}},
		{"a b c", 0, []string{"part 1"}},
		{"create-time", 0, []string{`"create-time" is not a field name`}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var v errs.Violations
			got := orders.Parse(&v, tc.in)
			if got != tc.want {
				t.Errorf("Parse(%q) = %d, want %d", tc.in, got, tc.want)
			}
			if tc.wantErr == nil {
				if v.Len() != 0 {
					t.Errorf("Parse(%q): unexpected violation %q", tc.in, v.Description("order_by"))
				}
				return
			}
			if diff := cmp.Diff([]string{"order_by"}, v.Fields()); diff != "" {
				t.Fatalf("Parse(%q) violations (-want +got):\n%s", tc.in, diff)
			}
			for _, part := range tc.wantErr {
				if msg := v.Description("order_by"); !strings.Contains(msg, part) {
					t.Errorf("Parse(%q) violation %q does not mention %q", tc.in, msg, part)
				}
			}
		})
	}
}
