package idea

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
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

	// Without the etag the repository retries when the idea it merges into
	// changed meanwhile; a changed duplicate fails its etag below.
	dup, _, err := s.ideas.Update(ctx, dupName.ref(), "", who.Subject, func(dup *record, t time.Time) (repo.Change, error) {
		if !readableBy(dup, who, dupName.Region) {
			return repo.Change{}, notFound(dupName)
		}
		if dup.Etag() != req.GetEtag() {
			return repo.Change{}, s.ideas.Stale(dup, req.GetEtag())
		}
		target, err := s.load(ctx, who, into)
		if err != nil {
			return repo.Change{}, err
		}
		switch st := target.Msg.GetStage(); {
		case final(dup.Msg.GetStage()):
			return repo.Change{}, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: it is not merged any more", dupName, dup.Msg.GetStage())
		case st == ideav1.Stage_STAGE_MERGED || st == ideav1.Stage_STAGE_REJECTED || st == ideav1.Stage_STAGE_WITHDRAWN:
			return repo.Change{}, domain.FailedPrecondition("MERGE_TARGET_CLOSED", "idea %s is %s: merge the duplicate into the idea that lives on", into, st)
		}
		now := timestamppb.New(t)
		from := dup.Msg.GetStage()
		dup.Msg.Stage, dup.Msg.MergedInto = ideav1.Stage_STAGE_MERGED, into.String()
		side(dup).History = append(side(dup).History, &ideav1.HistoryEntry{FromStage: from, ToStage: ideav1.Stage_STAGE_MERGED,
			Rationale: mergeNote("merged into "+into.String(), rationale), Actor: who.Subject, ActorName: who.Name, Time: now})

		target.Msg.MergedFrom = append(target.Msg.MergedFrom, dupName.String())
		if sub := dup.Msg.GetSubmitter(); sub != nil {
			target.Msg.CoSubmitters = append(target.Msg.CoSubmitters, proto.Clone(sub).(*ideav1.Submitter))
		}
		if dup.Owner != "" && dup.Owner != target.Owner && !slices.Contains(side(target).CoOwners, dup.Owner) {
			side(target).CoOwners = append(side(target).CoOwners, dup.Owner)
		}
		target.Msg.UpdateTime = now
		side(target).History = append(side(target).History, &ideav1.HistoryEntry{FromStage: target.Msg.GetStage(), ToStage: target.Msg.GetStage(),
			Rationale: mergeNote("duplicate "+dupName.String()+" merged into it", rationale), Actor: who.Subject, ActorName: who.Name, Time: now})
		put, err := s.ideas.Put(target)
		if err != nil {
			return repo.Change{}, domain.Store(err, "IDEA", target.Msg.GetName())
		}
		detail := dupName.String() + " → " + into.String()
		return repo.Change{Action: "MergeIdea", Detail: detail, Puts: []store.Put{put}, Events: []store.Event{{
			Time: t, Actor: who.Subject, Action: "MergeIdea", Key: target.Msg.GetName(),
			EtagBefore: target.Etag(), EtagAfter: repo.Etag(target.Version + 1), Detail: detail,
		}}}, nil
	})
	if err != nil {
		return nil, err
	}
	return redact(who, dupName.Region, dup.Owner, dup.Msg), nil
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
				r.Msg.CoSubmitters = slices.DeleteFunc(r.Msg.CoSubmitters, func(c *ideav1.Submitter) bool { return proto.Equal(c, sub) })
			}
			side(r).CoOwners = slices.DeleteFunc(side(r).CoOwners, func(o string) bool { return o == owner })
			return nil, nil
		},
	})
	return err
}
