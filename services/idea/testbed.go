package idea

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// Test beds are where a region tries ideas with patients and staff (its
// innovation clinics, wards, primary-care centres, labs, patients' homes).
// A test plan puts one idea in one test bed for a period with a protocol;
// approving it is what the TESTING gate asks for, and its outcome says
// whether the idea was kept, scaled up or stopped and what was learned.

const maxCapacity = 1000

type testBedName struct{ Region, ID string }

func (n testBedName) String() string { return "regions/" + n.Region + "/testBeds/" + n.ID }
func (n testBedName) ref() repo.Ref {
	return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()}
}
func (n testBedName) key() string { return "testbed/" + n.ID }

func parseTestBedName(s string) (testBedName, error) {
	ids, err := resource.Split(s, "regions", "testBeds")
	if err != nil {
		return testBedName{}, err
	}
	return testBedName{Region: ids[0], ID: ids[1]}, nil
}

type testPlanName struct {
	Idea ideaName
	ID   string
}

func (n testPlanName) String() string { return n.Idea.String() + "/testPlans/" + n.ID }
func (n testPlanName) ref() repo.Ref {
	return repo.Ref{Region: n.Idea.Region, Key: n.key(), Name: n.String()}
}
func (n testPlanName) key() string { return "testplan/" + n.Idea.ID + "/" + n.ID }

func parseTestPlanName(s string) (testPlanName, error) {
	ids, err := resource.Split(s, "regions", "ideas", "testPlans")
	if err != nil {
		return testPlanName{}, err
	}
	return testPlanName{Idea: ideaName{Region: ids[0], ID: ids[1]}, ID: ids[2]}, nil
}

// testPlanIndex lists a plan under its idea and under its test bed.
func testPlanIndex(e *repo.Entry[*ideav1.TestPlan]) []store.IndexEntry {
	n, _ := parseTestPlanName(e.Msg.GetName())
	bed, _ := parseTestBedName(e.Msg.GetTestBed())
	return []store.IndexEntry{
		{Index: "testplans", Term: n.Idea.ID + "/" + n.ID},
		{Index: "bedplans", Term: bed.ID + "/" + n.Idea.ID + "/" + n.ID},
	}
}

// testBedIndex lists test beds by name.
func testBedIndex(e *repo.Entry[*ideav1.TestBed]) []store.IndexEntry {
	return []store.IndexEntry{{Index: "testbeds", Term: fold(e.Msg.GetDisplayName()) + "/" + strings.TrimPrefix(e.Ref.Key, "testbed/")}}
}

func testBedReaders() []auth.Role {
	return []auth.Role{auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service}
}

// CreateTestBed registers a test bed.
func (s *Server) CreateTestBed(ctx context.Context, req *ideav1.CreateTestBedRequest) (*ideav1.TestBed, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetTestBed()
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	resource.CheckText(&v, "test_bed.display_name", in.GetDisplayName(), maxShort, true)
	resource.CheckText(&v, "test_bed.unit", in.GetUnit(), maxShort, false)
	resource.CheckText(&v, "test_bed.contact", in.GetContact(), maxShort, false)
	if k := in.GetKind(); k == ideav1.TestBedKind_TEST_BED_KIND_UNSPECIFIED || ideav1.TestBedKind_name[int32(k)] == "" {
		v.Add("test_bed.kind", "is required: TEST_BED_KIND_INNOVATION_CLINIC, _WARD, _PRIMARY_CARE_CENTRE, _LAB or _HOME")
	}
	if c := in.GetCapacity(); c < 1 || c > maxCapacity {
		v.Add("test_bed.capacity", "is %d: how many tests it runs at once, 1 to %d", c, maxCapacity)
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	id := testBedName{Region: region, ID: resource.NewID()}
	b := &ideav1.TestBed{
		Name: id.String(), DisplayName: strings.TrimSpace(in.GetDisplayName()), Unit: strings.TrimSpace(in.GetUnit()),
		Kind: in.GetKind(), Contact: strings.TrimSpace(in.GetContact()), Capacity: in.GetCapacity(), CreateTime: timestamppb.New(s.now()),
	}
	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	e, _, err := s.testBeds.Create(ctx, &repo.Entry[*ideav1.TestBed]{Ref: id.ref(), Msg: b}, repo.Create{
		Actor: who.Subject, Action: "CreateTestBed",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "CreateTestBed",
			Body: &ideav1.CreateTestBedRequest{Parent: req.GetParent(), TestBed: in}},
	})
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

func (s *Server) loadTestBed(ctx context.Context, name testBedName) (*ideav1.TestBed, error) {
	e, err := s.testBeds.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// GetTestBed returns one test bed.
func (s *Server) GetTestBed(ctx context.Context, req *ideav1.GetTestBedRequest) (*ideav1.TestBed, error) {
	name, err := parseTestBedName(req.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if _, err := resource.Caller(ctx, domain, s.regions, name.Region, testBedReaders()...); err != nil {
		return nil, err
	}
	return s.loadTestBed(ctx, name)
}

// ListTestBeds lists the region's test beds by name.
func (s *Server) ListTestBeds(ctx context.Context, req *ideav1.ListTestBedsRequest) (*ideav1.ListTestBedsResponse, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), testBedReaders()...)
	if err != nil {
		return nil, err
	}
	resp := &ideav1.ListTestBedsResponse{}
	resp.TestBeds, resp.NextPageToken, err = pageKept(ctx, s.testBeds, region, store.Query{Index: "testbeds"}, resource.Digest("testbeds", region),
		testBedOrders, req.GetOrderBy(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// CreateTestPlan plans a test of an idea in a test bed; it starts as a draft.
func (s *Server) CreateTestPlan(ctx context.Context, req *ideav1.CreateTestPlanRequest) (*ideav1.TestPlan, error) {
	idea, who, err := s.resolve(ctx, req.GetParent(), "parent", auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetTestPlan()
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	bed, berr := parseTestBedName(in.GetTestBed())
	switch {
	case berr != nil:
		v.Add("test_plan.test_bed", "%v", berr)
	case bed.Region != idea.Region:
		v.Add("test_plan.test_bed", "%s is a test bed of another region", in.GetTestBed())
	}
	start, okStart := checkDate(&v, "test_plan.start_date", in.GetStartDate(), true)
	end, okEnd := checkDate(&v, "test_plan.end_date", in.GetEndDate(), true)
	if okStart && okEnd && end.Before(start) {
		v.Add("test_plan.end_date", "%s is before start_date %s", in.GetEndDate(), in.GetStartDate())
	}
	resource.CheckText(&v, "test_plan.protocol", in.GetProtocol(), maxText, true)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.load(ctx, who, idea)
	if err != nil {
		return nil, err
	}
	if final(r.Msg.GetStage()) {
		return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: it is not tested any more", idea, r.Msg.GetStage())
	}
	if _, err := s.loadTestBed(ctx, bed); err != nil {
		return nil, err
	}
	name := testPlanName{Idea: idea, ID: resource.NewID()}
	p := &ideav1.TestPlan{
		Name: name.String(), TestBed: bed.String(), StartDate: in.GetStartDate(), EndDate: in.GetEndDate(),
		Protocol: strings.TrimSpace(in.GetProtocol()), State: ideav1.TestPlanState_TEST_PLAN_STATE_DRAFT,
		CreateTime: timestamppb.New(s.now()), IdeaTitle: r.Msg.GetTitle(),
	}
	if err := s.upgraded(ctx, idea.Region); err != nil {
		return nil, err
	}
	e, _, err := s.testPlans.Create(ctx, &repo.Entry[*ideav1.TestPlan]{Ref: name.ref(), Msg: p}, repo.Create{
		Actor: who.Subject, Action: "CreateTestPlan",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "CreateTestPlan",
			Body: &ideav1.CreateTestPlanRequest{Parent: req.GetParent(), TestPlan: in}},
	})
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// ListTestPlans lists the test plans of an idea, or of a test bed: the
// ideas it tested and how each test ended.
func (s *Server) ListTestPlans(ctx context.Context, req *ideav1.ListTestPlansRequest) (*ideav1.ListTestPlansResponse, error) {
	var q store.Query
	var region string
	bed, berr := parseTestBedName(req.GetParent())
	idea, ierr := parseIdeaName(req.GetParent())
	switch {
	case berr == nil:
		if _, err := resource.Caller(ctx, domain, s.regions, bed.Region, testBedReaders()...); err != nil {
			return nil, err
		}
		if _, err := s.loadTestBed(ctx, bed); err != nil {
			return nil, err
		}
		region, q = bed.Region, store.Query{Index: "bedplans", Prefix: bed.ID + "/"}
	case ierr == nil:
		who, err := resource.Caller(ctx, domain, s.regions, idea.Region, testBedReaders()...)
		if err != nil {
			return nil, err
		}
		if _, err := s.load(ctx, who, idea); err != nil {
			return nil, err
		}
		region, q = idea.Region, store.Query{Index: "testplans", Prefix: idea.ID + "/"}
	default:
		return nil, domain.InvalidArgument("parent", errors.New("is neither an idea (regions/{region}/ideas/{idea}) nor a test bed (regions/{region}/testBeds/{test_bed})"))
	}
	resp := &ideav1.ListTestPlansResponse{}
	var err error
	resp.TestPlans, resp.NextPageToken, err = pageKept(ctx, s.testPlans, region, q, resource.Digest("testplans", req.GetParent()),
		testPlanOrders, req.GetOrderBy(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// running counts the approved, unfinished plans of a test bed whose period
// overlaps [start, end]: what its capacity bounds.
func (s *Server) running(ctx context.Context, bed testBedName, start, end string) (int32, error) {
	var n int32
	err := all(ctx, s.testPlans, bed.Region, store.Query{Index: "bedplans", Prefix: bed.ID + "/"}, func(e *repo.Entry[*ideav1.TestPlan]) error {
		p := e.Msg
		if p.GetState() == ideav1.TestPlanState_TEST_PLAN_STATE_APPROVED && p.GetStartDate() <= end && start <= p.GetEndDate() {
			n++
		}
		return nil
	})
	return n, err
}

// resolveTestPlan parses a test plan's name and checks that the caller is
// staff of its region.
func (s *Server) resolveTestPlan(ctx context.Context, raw string) (testPlanName, *auth.Identity, error) {
	name, err := parseTestPlanName(raw)
	if err != nil {
		return testPlanName{}, nil, domain.InvalidArgument("name", err)
	}
	who, err := resource.Caller(ctx, domain, s.regions, name.Idea.Region, auth.Advisor, auth.RegionAdmin)
	return name, who, err
}

// ApproveTestPlan approves a draft plan and records it on the idea in the
// same write, so the TESTING gate sees it exactly when it is approved.
func (s *Server) ApproveTestPlan(ctx context.Context, req *ideav1.ApproveTestPlanRequest) (*ideav1.TestPlan, error) {
	name, who, err := s.resolveTestPlan(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetEtag() == "" {
		return nil, domain.InvalidArgument("etag", errors.New("is required: send the etag of the test plan as you read it"))
	}
	var approved *ideav1.TestPlan
	_, err = s.commit(ctx, who, name.Idea, mutation{
		action: "ApproveTestPlan",
		apply: func(r *record) ([]store.Put, error) {
			e, err := s.testPlans.Get(ctx, name.ref())
			if err != nil {
				return nil, err
			}
			p := e.Msg
			switch {
			case p.GetEtag() != req.GetEtag():
				return nil, s.testPlans.Stale(e, req.GetEtag())
			case p.GetState() != ideav1.TestPlanState_TEST_PLAN_STATE_DRAFT:
				return nil, domain.FailedPrecondition("TEST_PLAN_NOT_DRAFT", "test plan %s is %s: only a draft is approved", name, p.GetState())
			case final(r.Msg.GetStage()):
				return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: it is not tested any more", name.Idea, r.Msg.GetStage())
			}
			bedName, err := parseTestBedName(p.GetTestBed())
			if err != nil {
				return nil, domain.Store(err, "TEST_PLAN", name.String())
			}
			bed, err := s.loadTestBed(ctx, bedName)
			if err != nil {
				return nil, err
			}
			n, err := s.running(ctx, bedName, p.GetStartDate(), p.GetEndDate())
			if err != nil {
				return nil, err
			}
			if n >= bed.GetCapacity() {
				return nil, domain.FailedPrecondition("TEST_BED_FULL", "test bed %s runs %d approved tests in %s–%s, its capacity", bedName, n, p.GetStartDate(), p.GetEndDate())
			}
			p.State, p.ApprovedBy = ideav1.TestPlanState_TEST_PLAN_STATE_APPROVED, who.Subject
			put, err := s.testPlans.Put(e)
			if err != nil {
				return nil, domain.Store(err, "TEST_PLAN", name.String())
			}
			r.Msg.TestPlans = append(r.Msg.TestPlans, p.GetName())
			p.Etag = repo.Etag(e.Version + 1)
			approved = p
			return []store.Put{put}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	return approved, nil
}

// RecordTestOutcome records how an approved test ended and what was learned.
func (s *Server) RecordTestOutcome(ctx context.Context, req *ideav1.RecordTestOutcomeRequest) (*ideav1.TestPlan, error) {
	name, who, err := s.resolveTestPlan(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	if o := req.GetOutcome(); o == ideav1.TestOutcome_TEST_OUTCOME_UNSPECIFIED || ideav1.TestOutcome_name[int32(o)] == "" {
		v.Add("outcome", "is required: TEST_OUTCOME_KEPT, TEST_OUTCOME_SCALED_UP or TEST_OUTCOME_STOPPED")
	}
	resource.CheckText(&v, "learned", req.GetLearned(), maxText, true)
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the test plan as you read it")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, who, name.Idea); err != nil {
		return nil, err
	}
	e, _, err := s.testPlans.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(e *repo.Entry[*ideav1.TestPlan], _ time.Time) (repo.Change, error) {
		p := e.Msg
		if p.GetState() != ideav1.TestPlanState_TEST_PLAN_STATE_APPROVED {
			return repo.Change{}, domain.FailedPrecondition("TEST_PLAN_NOT_APPROVED", "test plan %s is %s: an outcome is recorded for an approved test", name, p.GetState())
		}
		p.State, p.Outcome, p.Learned = ideav1.TestPlanState_TEST_PLAN_STATE_COMPLETED, req.GetOutcome(), strings.TrimSpace(req.GetLearned())
		return repo.Change{Action: "RecordTestOutcome"}, nil
	})
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}
