package partner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// An agreement's lifecycle: it is signed (signed_time), amended (a new
// revision, the one it replaces kept as a record of its own) and may be
// terminated early with a reason. Signing, amending and terminating bind the
// region, so only its admins do them; each is one audited change on the
// etag the caller read.

// signers may sign, amend and terminate a region's agreements.
func signers() []auth.Role { return []auth.Role{auth.RegionAdmin} }

// revisionKey is the key of an agreement's earlier revision rev.
func revisionKey(name agreementName, rev int32) string {
	return fmt.Sprintf("agreement-rev/%s/%s/%06d", name.Partner.ID, name.ID, rev)
}

func revisionIndex(e *repo.Entry[*partnerv1.Agreement]) []store.IndexEntry {
	n, err := parseAgreementName(e.Msg.GetName())
	if err != nil {
		return nil
	}
	// Newest first: the higher revision sorts first.
	return []store.IndexEntry{{Index: "agreement_revisions", Term: fmt.Sprintf("%s/%s/%010d", n.Partner.ID, n.ID, math.MaxInt32-e.Msg.GetRevision())}}
}

// resolveAgreement parses an agreement name of a served region and checks
// the caller holds one of roles there.
func (s *Server) resolveAgreement(ctx context.Context, raw, field string, roles ...auth.Role) (agreementName, *auth.Identity, error) {
	name, err := parseAgreementName(raw)
	if err != nil {
		return agreementName{}, nil, domain.InvalidArgument(field, err)
	}
	if err := resource.Served(domain, s.regions, name.Partner.Region); err != nil {
		return agreementName{}, nil, err
	}
	who, err := auth.Require(ctx, name.Partner.Region, roles...)
	if err != nil {
		return agreementName{}, nil, err
	}
	return name, who, nil
}

// live refuses a change to an agreement that has ended.
func live(a *partnerv1.Agreement, verb string) error {
	switch a.GetState() {
	case partnerv1.AgreementState_AGREEMENT_STATE_TERMINATED:
		return domain.FailedPrecondition("AGREEMENT_TERMINATED", "agreement %s was terminated (%s): it cannot be %s", a.GetName(), a.GetTerminationReason(), verb)
	case partnerv1.AgreementState_AGREEMENT_STATE_EXPIRED:
		return domain.FailedPrecondition("AGREEMENT_EXPIRED", "agreement %s ended on %s: it cannot be %s; record a new agreement", a.GetName(), a.GetValidTo(), verb)
	}
	return nil
}

// SignAgreement records when an agreement was signed.
func (s *Server) SignAgreement(ctx context.Context, req *partnerv1.SignAgreementRequest) (*partnerv1.Agreement, error) {
	name, who, err := s.resolveAgreement(ctx, req.GetName(), "name", signers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the agreement as you read it")
	}
	now := s.now()
	signed := timestamppb.New(now)
	if st := req.GetSignedTime(); st != nil {
		switch {
		case !st.IsValid():
			v.Add("signed_time", "is not a valid time")
		case st.AsTime().After(now.Add(5 * time.Minute)):
			v.Add("signed_time", "%s is in the future: sign the agreement once it is signed", st.AsTime().Format(time.RFC3339))
		default:
			signed = st
		}
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	out, _, err := s.agreements.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(e *repo.Entry[*partnerv1.Agreement], _ time.Time) (repo.Change, error) {
		if e.Msg.GetSignedTime() != nil && e.Msg.GetState() != partnerv1.AgreementState_AGREEMENT_STATE_TERMINATED {
			// Signed already (a retry, or signed by someone else): nothing
			// to do, and the first signature stands.
			return repo.Change{Noop: true}, nil
		}
		if err := live(e.Msg, "signed"); err != nil {
			return repo.Change{}, err
		}
		e.Msg.SignedTime = signed
		return repo.Change{Action: "SignAgreement", Detail: fmt.Sprintf("revision %d", max(e.Msg.GetRevision(), 1))}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}

// amendable are the fields an amendment may change.
func amendable() []string {
	return []string{"kind", "subject", "valid_from", "valid_to", "signed_time"}
}

// agreementOutputOnly are the fields of an agreement the server sets, with
// how they change.
func agreementOutputOnly() map[string]string {
	return map[string]string{
		"state": "is derived from the dates and the lifecycle", "revision": "counts the amendments",
		"amendment_note": "is the note of the amendment", "terminate_time": "is set by :terminate",
		"termination_reason": "is set by :terminate", "create_time": "is set by the server", "update_time": "is set by the server",
	}
}

// AmendAgreement replaces an agreement's terms with a new revision and keeps
// the one it replaces.
func (s *Server) AmendAgreement(ctx context.Context, req *partnerv1.AmendAgreementRequest) (*partnerv1.Agreement, error) {
	name, who, err := s.resolveAgreement(ctx, req.GetAgreement().GetName(), "agreement.name", signers()...)
	if err != nil {
		return nil, err
	}
	in := req.GetAgreement()
	var v errs.Violations
	if in.GetEtag() == "" {
		v.Add("agreement.etag", "is required: send the etag of the agreement as you read it")
	}
	note := strings.TrimSpace(req.GetNote())
	switch {
	case note == "":
		v.Add("note", "is required: what the amendment changes and why")
	case utf8.RuneCountInString(note) > maxReason:
		v.Add("note", "is longer than %d characters", maxReason)
	}
	// Output-only fields named in the mask are ignored (AIP-203), so an
	// agreement as read may be sent back with the terms changed.
	paths, ignored := resource.WithoutOutputOnly(resource.UpdatePaths(req.GetUpdateMask().GetPaths()), func(f string) bool { return agreementOutputOnly()[f] != "" })
	if len(paths) == 0 {
		v.Add("update_mask", "name at least one field to amend (%s)%s", strings.Join(amendable(), ", "), resource.IgnoredNote(ignored, agreementOutputOnly()))
	}
	for _, p := range paths {
		if !slices.Contains(amendable(), p) {
			v.Add("update_mask", "%q cannot be amended; fields: %s", p, strings.Join(amendable(), ", "))
		}
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	out, _, err := s.agreements.Update(ctx, name.ref(), in.GetEtag(), who.Subject, func(e *repo.Entry[*partnerv1.Agreement], now time.Time) (repo.Change, error) {
		if err := live(e.Msg, "amended"); err != nil {
			return repo.Change{}, err
		}
		old := proto.Clone(e.Msg).(*partnerv1.Agreement)
		old.Revision = max(old.GetRevision(), 1)
		old.State, old.Etag = 0, ""
		next := proto.Clone(old).(*partnerv1.Agreement)
		// The amended terms bind once signed: a signature of the old terms
		// does not carry over unless the request says when this one was.
		next.SignedTime = nil
		for _, p := range paths {
			switch p {
			case "kind":
				next.Kind = in.GetKind()
			case "subject":
				next.Subject = in.GetSubject()
			case "valid_from":
				next.ValidFrom = in.GetValidFrom()
			case "valid_to":
				next.ValidTo = in.GetValidTo()
			case "signed_time":
				next.SignedTime = in.GetSignedTime()
			}
		}
		var v errs.Violations
		validateAgreement(&v, name.Partner.Region, next, now)
		if err := v.Err(domain); err != nil {
			return repo.Change{}, err
		}
		next.Revision = old.GetRevision() + 1
		next.AmendmentNote = note
		keep, err := s.revisions.Put(&repo.Entry[*partnerv1.Agreement]{
			Ref: repo.Ref{Region: name.Partner.Region, Key: revisionKey(name, old.GetRevision()), Name: name.String()}, Msg: old,
		})
		if err != nil {
			return repo.Change{}, domain.Store(err, "AGREEMENT_REVISION", name.String())
		}
		e.Msg = next
		return repo.Change{Action: "AmendAgreement", Detail: fmt.Sprintf("revision %d", next.Revision), Puts: []store.Put{keep}}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}

// TerminateAgreement ends an agreement early.
func (s *Server) TerminateAgreement(ctx context.Context, req *partnerv1.TerminateAgreementRequest) (*partnerv1.Agreement, error) {
	name, who, err := s.resolveAgreement(ctx, req.GetName(), "name", signers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the agreement as you read it")
	}
	reason := strings.TrimSpace(req.GetReason())
	switch {
	case reason == "":
		v.Add("reason", "is required: why the agreement ends before its last day")
	case utf8.RuneCountInString(reason) > maxReason:
		v.Add("reason", "is longer than %d characters", maxReason)
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	out, _, err := s.agreements.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(e *repo.Entry[*partnerv1.Agreement], now time.Time) (repo.Change, error) {
		if e.Msg.GetTerminateTime() != nil && e.Msg.GetTerminationReason() == reason {
			return repo.Change{Noop: true}, nil // a retry
		}
		if err := live(e.Msg, "terminated"); err != nil {
			return repo.Change{}, err
		}
		e.Msg.TerminateTime = timestamppb.New(now)
		e.Msg.TerminationReason = reason
		return repo.Change{Action: "TerminateAgreement", Detail: fmt.Sprintf("revision %d", max(e.Msg.GetRevision(), 1))}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}

// ListAgreementRevisions pages through the revisions an agreement's
// amendments replaced, newest first or oldest first.
func (s *Server) ListAgreementRevisions(ctx context.Context, req *partnerv1.ListAgreementRevisionsRequest) (*partnerv1.ListAgreementRevisionsResponse, error) {
	name, who, err := s.resolveAgreement(ctx, req.GetName(), "name", readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := revisionOrders.Parse(&v, req.GetOrderBy())
	query := resource.Digest(req.GetName(), revisionOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if !mayRead(who, name.Partner.Region, name.Partner.String()) {
		return nil, domain.NotFound("AGREEMENT_NOT_FOUND", "agreement %s not found", name)
	}
	if _, err := s.loadAgreement(ctx, name); err != nil {
		return nil, err
	}
	resp := &partnerv1.ListAgreementRevisionsResponse{}
	plan := store.Query{Index: "agreement_revisions", Prefix: name.Partner.ID + "/" + name.ID + "/", Reverse: o == 1}
	page := repo.Page[*partnerv1.Agreement]{After: after, Size: size, Digest: query}
	page.Plan.Query = plan
	resp.NextPageToken, err = s.revisions.List(ctx, name.Partner.Region, page, func(e *repo.Entry[*partnerv1.Agreement]) (bool, error) {
		e.Msg.Etag = "" // a revision is not changed, so it has no etag
		resp.Agreements = append(resp.Agreements, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
