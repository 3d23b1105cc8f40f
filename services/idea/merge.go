package idea

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// MergeIdea marks an idea as a duplicate of another of its region. Both are
// written in one atomic step: the duplicate ends in STAGE_MERGED pointing at
// the idea it duplicates, which lists it in merged_from and takes its
// submitter on as a co-submitter, who may then read it. Neither history is
// rewritten: each gets an entry for the merge.
func (s *Server) MergeIdea(ctx context.Context, req *ideav1.MergeIdeaRequest) (*ideav1.Idea, error) {
	dupName, who, err := s.resolve(ctx, req.GetName(), "name", auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	into, ierr := parseIdeaName(req.GetMergeInto())
	switch {
	case ierr != nil:
		v.Add("merge_into", "%v", ierr)
	case into.Region != dupName.Region:
		v.Add("merge_into", "%s is an idea of another region: duplicates are merged within a region", req.GetMergeInto())
	case into == dupName:
		v.Add("merge_into", "is the idea itself")
	}
	rationale := strings.TrimSpace(req.GetRationale())
	if utf8.RuneCountInString(rationale) > maxText {
		v.Add("rationale", "is longer than %d characters", maxText)
	}
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the duplicate as you read it")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	for attempt := 0; ; attempt++ {
		dup, err := s.load(ctx, who, dupName)
		if err != nil {
			return nil, err
		}
		if err := checkEtag(req.GetEtag(), dup); err != nil {
			return nil, err
		}
		target, err := s.load(ctx, who, into)
		if err != nil {
			return nil, err
		}
		switch st := target.idea.GetStage(); {
		case final(dup.idea.GetStage()):
			return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: it is not merged any more", dupName, dup.idea.GetStage())
		case st == ideav1.Stage_STAGE_MERGED || st == ideav1.Stage_STAGE_REJECTED || st == ideav1.Stage_STAGE_WITHDRAWN:
			return nil, domain.FailedPrecondition("MERGE_TARGET_CLOSED", "idea %s is %s: merge the duplicate into the idea that lives on", into, st)
		}
		now := timestamppb.New(s.now())
		from := dup.idea.GetStage()
		dup.idea.Stage, dup.idea.MergedInto, dup.idea.UpdateTime = ideav1.Stage_STAGE_MERGED, into.String(), now
		dup.history = append(dup.history, &ideav1.HistoryEntry{FromStage: from, ToStage: ideav1.Stage_STAGE_MERGED,
			Rationale: mergeNote("merged into "+into.String(), rationale), Actor: who.Subject, ActorName: who.Name, Time: now})

		target.idea.MergedFrom = append(target.idea.MergedFrom, dupName.String())
		if sub := dup.idea.GetSubmitter(); sub != nil {
			target.idea.CoSubmitters = append(target.idea.CoSubmitters, proto.Clone(sub).(*ideav1.Submitter))
		}
		if dup.owner != "" && dup.owner != target.owner && !slices.Contains(target.coOwners, dup.owner) {
			target.coOwners = append(target.coOwners, dup.owner)
		}
		target.idea.UpdateTime = now
		target.history = append(target.history, &ideav1.HistoryEntry{FromStage: target.idea.GetStage(), ToStage: target.idea.GetStage(),
			Rationale: mergeNote("duplicate "+dupName.String()+" merged into it", rationale), Actor: who.Subject, ActorName: who.Name, Time: now})

		var puts []store.Put
		var events []store.Event
		for i, r := range []*record{dup, target} {
			b, err := r.encode()
			if err != nil {
				return nil, domain.Store(err, "IDEA", r.idea.GetName())
			}
			puts = append(puts, store.Put{Key: []ideaName{dupName, into}[i].key(), Value: b, Version: r.version, Index: indexEntries(r)})
			events = append(events, store.Event{Time: now.AsTime(), Actor: who.Subject, Action: "MergeIdea", Key: r.idea.GetName(),
				EtagBefore: etagOf(r.version), EtagAfter: etagOf(r.version + 1), Detail: dupName.String() + " → " + into.String()})
		}
		res, err := s.store.Commit(ctx, ns(into.Region), store.Write{Puts: puts, Events: events})
		if errors.Is(err, store.ErrConflict) && attempt < 10 {
			continue // one of them changed meanwhile: read both again (a changed duplicate fails its etag)
		}
		if err != nil {
			return nil, domain.Store(err, "IDEA", "merge of "+dupName.String())
		}
		dup.idea.Etag = etagOf(res.Versions[0])
		return redact(who, dupName.Region, dup.owner, dup.idea), nil
	}
}

func mergeNote(what, rationale string) string {
	if rationale == "" {
		return what
	}
	return what + ": " + rationale
}

// eraseCoSubmitter removes a merged duplicate's submitter from the idea it
// was merged into, when that submitter is erased.
func (s *Server) eraseCoSubmitter(ctx context.Context, who *auth.Identity, into ideaName, sub *ideav1.Submitter, owner, actor string) error {
	_, err := s.commit(ctx, who, into, mutation{
		action: "EraseSubmitter",
		actor:  actor,
		apply: func(r *record) ([]store.Put, error) {
			if sub != nil {
				r.idea.CoSubmitters = slices.DeleteFunc(r.idea.CoSubmitters, func(c *ideav1.Submitter) bool { return proto.Equal(c, sub) })
			}
			r.coOwners = slices.DeleteFunc(r.coOwners, func(o string) bool { return o == owner })
			return nil, nil
		},
	})
	return err
}
