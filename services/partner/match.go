package partner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/innovationsmotorer/motor/internal/auth"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

const (
	// maxMatches is how many needs an offer lists, best first.
	maxMatches = 10
	// maxNeedPages bounds the walk through a region's published needs
	// (1000 a page) within one call's deadline.
	maxNeedPages = 5
	// maxSimilarText is the needs service's limit on a draft's text.
	maxSimilarText = 5000
)

// Matching asks the needs service twice, with the caller's token (a company
// user sees published needs only, and only published needs are matched
// whoever asks):
//   - ListNeeds with `published = true`: a need scores a point for each of
//     the offer's capabilities found in its statement or care unit;
//   - FindSimilarNeeds with the offer's title and description: a need scores
//     its trigram similarity, for offers worded like the need.
//
// Closed and addressed needs are not matched: nobody looks for a solution
// to them any more.

// matchNeeds returns the names of the region's published, open needs that
// match o, best first. Any error means the needs service could not be asked
// (or refused); the caller keeps the offer with matching pending.
func (s *Server) matchNeeds(ctx context.Context, who *auth.Identity, region string, o *partnerv1.Offer) ([]string, error) {
	if s.needs == nil {
		return nil, errors.New("no needs service configured")
	}
	if who.Token == "" {
		// In-process callers (demo content) carry no token to forward; a
		// later read by a person matches the offer.
		return nil, errors.New("no bearer token to forward to the needs service")
	}
	ctx, cancel := context.WithTimeout(ctx, s.needsTimeout)
	defer cancel()
	ctx = auth.WithBearer(ctx, who.Token)
	parent := "regions/" + region

	scores := map[string]float64{}
	req := &needsv1.ListNeedsRequest{Parent: parent, PageSize: 1000, Filter: "published = true"}
	for range maxNeedPages {
		resp, err := s.needs.ListNeeds(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("needs.ListNeeds: %w", err)
		}
		for _, n := range resp.GetNeeds() {
			if matchable(n) {
				if sc := capabilityScore(o.GetCapabilities(), n); sc > 0 {
					scores[n.GetName()] += sc
				}
			}
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	text := truncate(strings.TrimSpace(o.GetTitle()+". "+o.GetDescription()), maxSimilarText)
	sim, err := s.needs.FindSimilarNeeds(ctx, &needsv1.FindSimilarNeedsRequest{Parent: parent, Text: text})
	if err != nil {
		return nil, fmt.Errorf("needs.FindSimilarNeeds: %w", err)
	}
	for _, r := range sim.GetResults() {
		if matchable(r.GetNeed()) {
			scores[r.GetNeed().GetName()] += r.GetSimilarity()
		}
	}

	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return names[:min(len(names), maxMatches)], nil
}

func matchable(n *needsv1.Need) bool {
	switch n.GetStatus() {
	case needsv1.NeedStatus_NEED_STATUS_CLOSED, needsv1.NeedStatus_NEED_STATUS_ADDRESSED:
		return false
	}
	return n.GetPublished()
}

// capabilityScore counts the capabilities whose every word occurs in the
// need's text.
func capabilityScore(capabilities []string, n *needsv1.Need) float64 {
	text := words(strings.Join([]string{n.GetProblem(), n.GetPopulation(), n.GetOutcome(), n.GetCareUnit()}, " "))
	score := 0.0
	for _, c := range capabilities {
		cw := words(c)
		if len(cw) > 0 && !slices.ContainsFunc(cw, func(w string) bool { return !slices.ContainsFunc(text, func(t string) bool { return sameWord(w, t) }) }) {
			score++
		}
	}
	return score
}

// words splits text into lower-case words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// sameWord treats a word and its inflections or compounds as one: Swedish
// adds endings ("sensor", "sensorer") and builds compounds ("fall",
// "fallrisk"), so a word of four letters or more matches the words it
// begins. Shorter words ("AI", "app") must match exactly.
func sameWord(a, b string) bool {
	if a == b {
		return true
	}
	if utf8.RuneCountInString(a) < 4 || utf8.RuneCountInString(b) < 4 {
		return false
	}
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}
