package needs

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/trigram"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

const (
	// similarThreshold is pg_trgm's default similarity threshold.
	similarThreshold = 0.25
	maxSimilar       = 10
	maxSimilarText   = 5000
)

// statementText is what two needs are compared by: the statement's three
// parts. The fixed words of the template ("A way to … in … in order to …")
// are the same in every statement and would lift every score toward the
// threshold, so they are left out.
func statementText(problem, population, outcome string) string {
	return problem + " " + population + " " + outcome
}

// draftText is the text of a FindSimilarNeeds request: the free text when
// given (with the template's words removed if it is a rendered statement),
// else the three parts.
func draftText(req *needsv1.FindSimilarNeedsRequest) string {
	text := strings.TrimSpace(req.GetText())
	if text == "" {
		return statementText(req.GetProblem(), req.GetPopulation(), req.GetOutcome())
	}
	if len(text) >= len("a way to ") && strings.EqualFold(text[:len("a way to ")], "a way to ") {
		text = text[len("a way to "):]
	}
	return strings.ReplaceAll(text, " in order to ", " ")
}

// FindSimilarNeeds returns the region's needs whose statements are most
// similar to a draft, among those the caller may see, so a portal can point
// to an existing need before a duplicate is reported.
func (s *Server) FindSimilarNeeds(ctx context.Context, req *needsv1.FindSimilarNeedsRequest) (*needsv1.FindSimilarNeedsResponse, error) {
	region, err := resource.ParseRegion(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	if err := resource.Served(domain, s.regions, region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, region, readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	resource.CheckText(&v, "text", req.GetText(), maxSimilarText, false)
	resource.CheckText(&v, "problem", req.GetProblem(), maxPart, false)
	resource.CheckText(&v, "population", req.GetPopulation(), maxPart, false)
	resource.CheckText(&v, "outcome", req.GetOutcome(), maxPart, false)
	draft := trigram.Of(draftText(req))
	if v.Len() == 0 && len(draft) == 0 {
		v.Add("text", "a draft is required: text, or problem, population and outcome")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	var found []*needsv1.SimilarNeed
	q := store.Query{Index: orderCreated, Limit: maxPageSize}
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return nil, domain.Store(err, "NEED", "needs of "+region)
		}
		for _, it := range page.Items {
			q.After = it.Cursor
			r, err := decode(it.Record)
			if err != nil {
				return nil, domain.Store(err, "NEED", "needs of "+region)
			}
			if !mayRead(who, region, r.owner, r.need) {
				continue
			}
			n := r.need
			sim := trigram.Similarity(draft, trigram.Of(statementText(n.GetProblem(), n.GetPopulation(), n.GetOutcome())))
			if sim >= similarThreshold {
				found = append(found, &needsv1.SimilarNeed{Need: redact(who, region, r.owner, n), Similarity: sim})
			}
		}
		if !page.More {
			break
		}
	}
	slices.SortFunc(found, func(a, b *needsv1.SimilarNeed) int {
		if c := cmp.Compare(b.GetSimilarity(), a.GetSimilarity()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetNeed().GetName(), b.GetNeed().GetName())
	})
	return &needsv1.FindSimilarNeedsResponse{Results: found[:min(len(found), maxSimilar)]}, nil
}
