package needs

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// editable are the fields UpdateNeed sets, in the proto's order.
func editable() []string {
	return []string{"problem", "population", "outcome", "care_unit", "reported_by", "evidence", "patients_affected_per_year", "published"}
}

// outputOnly are the fields of a need the server sets, with how they
// change. AIP-203 has a service ignore output-only fields in an update, so a
// client may send back the need it read: grpc-gateway puts every field of a
// PATCH body in the implied mask.
func outputOnly() map[string]string {
	return map[string]string{
		"statement":      "follows its parts",
		"status":         "changes through :transition",
		"priority_score": "is the latest screening's (POST …/screenings)",
		"links":          "are added with :link",
		"referenced_by":  "is kept by the partner and funding services",
		"create_time":    "is set by the server",
		"update_time":    "is set by the server",
	}
}

// maskPaths resolves an update's field mask: the paths named, every editable
// field for "*", or, without a mask, the editable fields set in in. name and
// etag identify the need, and output-only fields are ignored; it returns
// those it ignored too.
func maskPaths(v *errs.Violations, mask []string, in *needsv1.Need) (paths, ignored []string) {
	if len(mask) == 0 {
		var out []string
		m := in.ProtoReflect()
		for _, p := range editable() {
			if m.Has(m.Descriptor().Fields().ByName(protoreflect.Name(p))) {
				out = append(out, p)
			}
		}
		return out, nil
	}
	named, ignored := resource.WithoutOutputOnly(resource.UpdatePaths(mask), func(f string) bool { return outputOnly()[f] != "" })
	var out []string
	for _, p := range named {
		switch {
		case p == "*":
			out = append(out, editable()...)
		case slices.Contains(editable(), p):
			out = append(out, p)
		default:
			v.Add("update_mask", "%q is not a field of a need that can be updated (fields: %s)", p, strings.Join(editable(), ", "))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), ignored
}

// UpdateNeed sets the fields named in update_mask. The statement follows its
// parts; the status, score and links only change through their methods.
func (s *Server) UpdateNeed(ctx context.Context, req *needsv1.UpdateNeedRequest) (*needsv1.Need, error) {
	in := req.GetNeed()
	name, err := parseNeedName(in.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("need.name", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, staffRoles()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	paths, ignored := maskPaths(&v, req.GetUpdateMask().GetPaths(), in)
	if len(paths) == 0 && v.Len() == 0 {
		v.Add("update_mask", "names no field to update (fields: %s)%s", strings.Join(editable(), ", "), resource.IgnoredNote(ignored, outputOnly()))
	}
	checkEtag(&v, "need.etag", in.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	r, _, err := s.needs.Update(ctx, name.ref(), in.GetEtag(), who.Subject, func(r *record, _ time.Time) (repo.Change, error) {
		was := proto.Clone(r.Msg).(*needsv1.Need)
		var v errs.Violations
		for _, p := range paths {
			setField(r.Msg, in, p)
		}
		checkNeed(&v, r.Msg)
		if err := v.Err(domain); err != nil {
			return repo.Change{}, err
		}
		if was.GetStatus() == needsv1.NeedStatus_NEED_STATUS_CLOSED && !onlyPublished(was, r.Msg) {
			// A closed need's statement is the record of what was closed;
			// only whether partners see it may still change.
			return repo.Change{}, closedError(name, "only published can change")
		}
		r.Msg.Statement = statement(r.Msg)
		return repo.Change{Action: "UpdateNeed", Detail: strings.Join(paths, ",")}, nil
	})
	if err != nil {
		return nil, err
	}
	return speak(ctx, redact(who, name.Region, r.Owner, r.Msg)), nil
}

func setField(dst, src *needsv1.Need, p string) {
	switch p {
	case "problem":
		dst.Problem = strings.TrimSpace(src.GetProblem())
	case "population":
		dst.Population = strings.TrimSpace(src.GetPopulation())
	case "outcome":
		dst.Outcome = strings.TrimSpace(src.GetOutcome())
	case "care_unit":
		dst.CareUnit = strings.TrimSpace(src.GetCareUnit())
	case "reported_by":
		dst.ReportedBy = src.GetReportedBy()
	case "evidence":
		dst.Evidence = strings.TrimSpace(src.GetEvidence())
	case "patients_affected_per_year":
		dst.PatientsAffectedPerYear = src.GetPatientsAffectedPerYear()
	case "published":
		dst.Published = src.GetPublished()
	}
}

// onlyPublished reports whether b differs from a in published at most.
func onlyPublished(a, b *needsv1.Need) bool {
	a2, b2 := proto.Clone(a).(*needsv1.Need), proto.Clone(b).(*needsv1.Need)
	a2.Published, b2.Published = false, false
	return proto.Equal(a2, b2)
}
