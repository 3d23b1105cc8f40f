package idea

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
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

// Categories are a region's controlled vocabulary of idea tags. A region
// that has defined none yet tags freely, as before it had a vocabulary; from
// its first category on, every tag set on an idea must be one of them and is
// stored as the category's id, so listing by category is one index scan.

const (
	maxCategories = 500
	maxOwners     = 20
	maxAssigned   = 100
)

var categoryID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,48}$`)

type categoryName struct{ Region, ID string }

func (n categoryName) String() string { return "regions/" + n.Region + "/categories/" + n.ID }
func (n categoryName) ref() repo.Ref {
	return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()}
}
func (n categoryName) key() string { return "category/" + n.ID }

func parseCategoryName(s string) (categoryName, error) {
	ids, err := resource.Split(s, "regions", "categories")
	if err != nil {
		return categoryName{}, err
	}
	return categoryName{Region: ids[0], ID: ids[1]}, nil
}

func checkCategory(v *errs.Violations, c *ideav1.Category, paths []string) {
	for _, p := range paths {
		switch p {
		case "display_name":
			resource.CheckText(v, "category.display_name", c.GetDisplayName(), maxShort, true)
		case "description":
			resource.CheckText(v, "category.description", c.GetDescription(), maxText, false)
		case "owners":
			uniqueTrimmed(v, "category.owners", c.GetOwners(), maxOwners)
		default:
			v.Add("update_mask", "%q is not a field of a category that can change (display_name, description, owners)", p)
		}
	}
}

// CreateCategory adds a category to the region's vocabulary.
func (s *Server) CreateCategory(ctx context.Context, req *ideav1.CreateCategoryRequest) (*ideav1.Category, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetCategory()
	var v errs.Violations
	if !categoryID.MatchString(req.GetCategoryId()) {
		v.Add("category_id", "%q is not a category id: lower-case letters, digits and hyphens, at most 49, e.g. digital-vard", req.GetCategoryId())
	}
	checkCategory(&v, in, []string{"display_name", "description", "owners"})
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	name := categoryName{Region: region, ID: req.GetCategoryId()}
	c := &ideav1.Category{
		Name: name.String(), DisplayName: strings.TrimSpace(in.GetDisplayName()),
		Description: strings.TrimSpace(in.GetDescription()), Owners: uniqueTrimmed(&v, "", in.GetOwners(), maxOwners),
	}
	e, _, err := s.categories.Create(ctx, &repo.Entry[*ideav1.Category]{Ref: name.ref(), Msg: c}, repo.Create{Actor: who.Subject, Action: "CreateCategory"})
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

func (s *Server) resolveCategory(ctx context.Context, raw, field string, roles ...auth.Role) (categoryName, *auth.Identity, error) {
	name, err := parseCategoryName(raw)
	if err != nil {
		return categoryName{}, nil, domain.InvalidArgument(field, err)
	}
	who, err := resource.Caller(ctx, domain, s.regions, name.Region, roles...)
	if err != nil {
		return categoryName{}, nil, err
	}
	return name, who, nil
}

func (s *Server) loadCategory(ctx context.Context, name categoryName) (*ideav1.Category, error) {
	e, err := s.categories.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// vocabularyReaders: whoever tags or reads ideas.
func vocabularyReaders() []auth.Role {
	return []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service}
}

// GetCategory returns one category.
func (s *Server) GetCategory(ctx context.Context, req *ideav1.GetCategoryRequest) (*ideav1.Category, error) {
	name, _, err := s.resolveCategory(ctx, req.GetName(), "name", vocabularyReaders()...)
	if err != nil {
		return nil, err
	}
	return s.loadCategory(ctx, name)
}

// ListCategories lists the region's categories in id order.
func (s *Server) ListCategories(ctx context.Context, req *ideav1.ListCategoriesRequest) (*ideav1.ListCategoriesResponse, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), vocabularyReaders()...)
	if err != nil {
		return nil, err
	}
	resp := &ideav1.ListCategoriesResponse{}
	resp.Categories, resp.NextPageToken, err = pageKept(ctx, s.categories, region, store.Query{Index: "categories"}, resource.Digest("categories", region),
		categoryOrders, req.GetOrderBy(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// UpdateCategory changes a category's display name, description or owners.
func (s *Server) UpdateCategory(ctx context.Context, req *ideav1.UpdateCategoryRequest) (*ideav1.Category, error) {
	name, who, err := s.resolveCategory(ctx, req.GetCategory().GetName(), "category.name", auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetCategory()
	var v errs.Violations
	paths := resource.UpdatePaths(req.GetUpdateMask().GetPaths())
	if len(paths) == 0 {
		v.Add("update_mask", "name at least one field to change")
	}
	if in.GetEtag() == "" {
		v.Add("category.etag", "is required: send the etag of the category as you read it")
	}
	checkCategory(&v, in, paths)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	e, _, err := s.categories.Update(ctx, name.ref(), in.GetEtag(), who.Subject, func(e *repo.Entry[*ideav1.Category], _ time.Time) (repo.Change, error) {
		c := e.Msg
		for _, p := range paths {
			switch p {
			case "display_name":
				c.DisplayName = strings.TrimSpace(in.GetDisplayName())
			case "description":
				c.Description = strings.TrimSpace(in.GetDescription())
			case "owners":
				c.Owners = uniqueTrimmed(&v, "", in.GetOwners(), maxOwners)
			}
		}
		return repo.Change{Action: "UpdateCategory"}, nil
	})
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// DeleteCategory removes a category from the vocabulary; ideas keep their
// tags, and listing by the category still finds them.
func (s *Server) DeleteCategory(ctx context.Context, req *ideav1.DeleteCategoryRequest) (*ideav1.DeleteCategoryResponse, error) {
	name, who, err := s.resolveCategory(ctx, req.GetName(), "name", auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	if req.GetEtag() == "" {
		return nil, domain.InvalidArgument("etag", errors.New("is required: send the etag of the category as you read it"))
	}
	if _, _, err := s.categories.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(*repo.Entry[*ideav1.Category], time.Time) (repo.Change, error) {
		return repo.Change{Action: "DeleteCategory", Delete: true}, nil
	}); err != nil {
		return nil, err
	}
	return &ideav1.DeleteCategoryResponse{}, nil
}

// vocabulary returns the region's category ids (none: the region tags freely).
func (s *Server) vocabulary(ctx context.Context, region string) ([]string, error) {
	var ids []string
	err := all(ctx, s.categories, region, store.Query{Index: "categories"}, func(e *repo.Entry[*ideav1.Category]) error {
		ids = append(ids, strings.TrimPrefix(e.Ref.Key, "category/"))
		if len(ids) > maxCategories {
			return fmt.Errorf("more than %d categories", maxCategories)
		}
		return nil
	})
	return ids, err
}

// vocabularyTags checks tags against the region's categories and returns
// them as category ids; field names the request field for the violation.
// A region without categories keeps its free tags.
func (s *Server) vocabularyTags(ctx context.Context, region, field string, tags []string) ([]string, error) {
	if len(tags) == 0 {
		return tags, nil
	}
	ids, err := s.vocabulary(ctx, region)
	if err != nil {
		return nil, domain.Store(err, "CATEGORY", "categories of "+region)
	}
	if len(ids) == 0 {
		return tags, nil
	}
	var v errs.Violations
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		id := strings.ToLower(strings.TrimSpace(t))
		if !slices.Contains(ids, id) {
			v.Add(field, "%q is not one of the region's categories; allowed: %s", t, strings.Join(ids, ", "))
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, v.Err(domain)
}

type sessionName struct{ Region, ID string }

func (n sessionName) String() string { return "regions/" + n.Region + "/focusGroupSessions/" + n.ID }
func (n sessionName) key() string    { return "focusgroup/" + n.ID }
func (n sessionName) ref() repo.Ref {
	return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()}
}

// CreateFocusGroupSession records a focus group's session and adds its
// categories to the tags of every idea it names, in one atomic write: a
// batch is categorised whole or not at all.
func (s *Server) CreateFocusGroupSession(ctx context.Context, req *ideav1.CreateFocusGroupSessionRequest) (*ideav1.FocusGroupSession, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetSession()
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	checkDate(&v, "session.date", in.GetDate(), true)
	participants := uniqueTrimmed(&v, "session.participants", in.GetParticipants(), maxParticipants)
	if len(in.GetAssignments()) == 0 || len(in.GetAssignments()) > maxAssigned {
		v.Add("session.assignments", "give 1 to %d ideas with their categories", maxAssigned)
	}
	ids, err := s.vocabulary(ctx, region)
	if err != nil {
		return nil, domain.Store(err, "CATEGORY", "categories of "+region)
	}
	if len(ids) == 0 {
		v.Add("session.assignments", "region %s has no categories yet: a region admin defines them first", region)
	}
	names := map[string]ideaName{}
	var assignments []*ideav1.CategoryAssignment
	for i, a := range in.GetAssignments() {
		field := fmt.Sprintf("session.assignments[%d]", i)
		n, err := parseIdeaName(a.GetIdea())
		switch {
		case err != nil:
			v.Add(field+".idea", "%v", err)
		case n.Region != region:
			v.Add(field+".idea", "%s is an idea of another region", a.GetIdea())
		case names[n.ID] != (ideaName{}):
			v.Add(field+".idea", "%s is given twice", a.GetIdea())
		default:
			names[n.ID] = n
		}
		if len(a.GetCategories()) == 0 {
			v.Add(field+".categories", "give at least one category")
		}
		cats := []string{}
		for _, c := range a.GetCategories() {
			c = strings.ToLower(strings.TrimSpace(c))
			if len(ids) > 0 && !slices.Contains(ids, c) {
				v.Add(field+".categories", "%q is not one of the region's categories; allowed: %s", c, strings.Join(ids, ", "))
			}
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
		assignments = append(assignments, &ideav1.CategoryAssignment{Idea: n.String(), Categories: cats})
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	id := sessionName{Region: region, ID: resource.NewID()}
	out := &ideav1.FocusGroupSession{Name: id.String(), Date: in.GetDate(), Participants: participants, Assignments: assignments, CreateTime: timestamppb.New(s.now())}
	for attempt := 0; ; attempt++ {
		var extra []store.Put
		var events []store.Event
		for _, a := range assignments {
			n := names[strings.TrimPrefix(a.GetIdea(), "regions/"+region+"/ideas/")]
			r, err := s.load(ctx, who, n)
			if err != nil {
				return nil, err
			}
			if final(r.Msg.GetStage()) {
				return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: its tags no longer change", n, r.Msg.GetStage())
			}
			for _, c := range a.GetCategories() {
				if !slices.Contains(r.Msg.Tags, c) {
					r.Msg.Tags = append(r.Msg.Tags, c)
				}
			}
			if len(r.Msg.Tags) > maxTags {
				return nil, domain.FailedPrecondition("TOO_MANY_TAGS", "idea %s would have %d tags; at most %d are allowed", n, len(r.Msg.Tags), maxTags)
			}
			r.Msg.UpdateTime = out.CreateTime
			put, err := s.ideas.Put(r)
			if err != nil {
				return nil, domain.Store(err, "IDEA", n.String())
			}
			extra = append(extra, put)
			events = append(events, store.Event{Time: s.now(), Actor: who.Subject, Action: "CategoriseIdea", Key: n.String(),
				EtagBefore: r.Etag(), EtagAfter: repo.Etag(r.Version + 1), Detail: out.Name})
		}
		if err := s.upgraded(ctx, region); err != nil {
			return nil, err
		}
		e, _, err := s.sessions.Create(ctx, &repo.Entry[*ideav1.FocusGroupSession]{Ref: id.ref(), Msg: out}, repo.Create{
			Actor: who.Subject, Action: "CreateFocusGroupSession", Puts: extra, Events: events,
			Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "CreateFocusGroupSession",
				Body: &ideav1.CreateFocusGroupSessionRequest{Parent: req.GetParent(), Session: in}},
		})
		if errors.Is(err, store.ErrConflict) && attempt < 10 {
			continue // an idea changed meanwhile: categorise it as it is now
		}
		if err != nil {
			return nil, err
		}
		return e.Msg, nil
	}
}
