// Package person gathers and erases one person's data across the services
// of a region (docs/architecture.md, "A person's data"). It owns no data and
// no store: it checks that the caller is the person or the region's admin,
// then asks every service that keeps personal data through that service's
// internal ExportPersonData and ErasePersonData, as this deployment (the
// service credential), since no token of the caller reaches another
// person's records there. It never imports another service's package.
package person

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

const domain errs.Domain = "person.motor"

// Me names the caller in a person's resource name.
const Me = "me"

// Config is what the person service is given: clients of the services
// that keep personal data, on connections that call as this deployment.
type Config struct {
	Regions config.Served
	Ideas   ideav1.IdeaServiceClient
	Needs   needsv1.NeedsServiceClient
	Partner partnerv1.PartnerServiceClient
	Funding fundingv1.SubprojectServiceClient
	Notify  notifyv1.NotificationServiceClient
	Reports reportsv1.ReportServiceClient
	Logger  *slog.Logger
	Now     func() time.Time
	// Timeout bounds each service's part (default 30 s; an erasure
	// rewrites every record that names the person).
	Timeout time.Duration
}

// Server implements personv1.PersonServiceServer.
type Server struct {
	personv1.UnimplementedPersonServiceServer
	cfg Config
}

// New returns the person service; every client is required, since a copy
// or an erasure that skipped a service would not be what it says.
func New(cfg Config) (*Server, error) {
	if cfg.Ideas == nil || cfg.Needs == nil || cfg.Partner == nil || cfg.Funding == nil || cfg.Notify == nil || cfg.Reports == nil {
		return nil, errors.New("person.New: a client of every service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Server{cfg: cfg}, nil
}

// target is who a call is about.
type target struct {
	region, subject, email string
	self                   bool
}

// resolve parses regions/{region}/persons/{person}, checks the region and
// that the caller is the person or an admin of the region; only an admin
// may name an e-mail address.
func (s *Server) resolve(ctx context.Context, name, email string) (target, error) {
	var v errs.Violations
	rest, ok := strings.CutPrefix(name, "regions/")
	region, person, _ := strings.Cut(rest, "/persons/")
	if !ok || region == "" || person == "" || strings.Contains(person, "/") || strings.Contains(region, "/") {
		v.Add("name", "must be regions/{region}/persons/{person}, person a subject or %q", Me)
	}
	if err := v.Err(domain); err != nil {
		return target{}, err
	}
	if err := resource.Served(domain, s.cfg.Regions, region); err != nil {
		return target{}, err
	}
	who, err := auth.Require(ctx, region, auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner)
	if err != nil {
		return target{}, err
	}
	email = strings.TrimSpace(email)
	if email != "" {
		if _, err := mail.ParseAddress(email); err != nil {
			v.Add("email", "is not an e-mail address")
		}
	}
	if err := v.Err(domain); err != nil {
		return target{}, err
	}
	admin := who.Region == region && who.Has(auth.RegionAdmin)
	t := target{region: region, subject: person, email: email}
	if person == Me {
		t.subject = who.Subject
	}
	t.self = t.subject == who.Subject
	if !t.self && !admin {
		return target{}, domain.New(codes.PermissionDenied, "PERSON_NOT_CALLER", "only the person themself or an admin of region %s may ask for a person's data", region)
	}
	if email != "" && !admin {
		return target{}, domain.New(codes.PermissionDenied, "EMAIL_ADMIN_ONLY", "only an admin of region %s may name a person by e-mail address", region)
	}
	return t, nil
}

// part runs one service's share under its own deadline and turns its
// failure into one that names the service and nothing internal.
func (s *Server) part(ctx context.Context, service string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err := f(ctx)
	if err == nil {
		return nil
	}
	s.cfg.Logger.WarnContext(ctx, "person data: a service did not answer", "service", service, "error", err)
	code := status.Code(err)
	if code != codes.InvalidArgument && code != codes.NotFound && code != codes.Aborted {
		code = codes.Unavailable
	}
	return domain.New(code, "SERVICE_UNAVAILABLE", "the %s service could not complete its part; the answer would be incomplete, so there is none: try again", service)
}

// ExportPersonData returns what every service of the region keeps about
// the person, as one document.
func (s *Server) ExportPersonData(ctx context.Context, req *personv1.ExportPersonDataRequest) (*personv1.PersonData, error) {
	t, err := s.resolve(ctx, req.GetName(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	parent := "regions/" + t.region
	out := &personv1.PersonData{Name: parent + "/persons/" + t.subject, Subject: t.subject, Email: t.email, ExportTime: timestamppb.New(s.cfg.Now())}
	parts := []struct {
		service string
		f       func(ctx context.Context) error
	}{
		{"idea", func(ctx context.Context) (err error) {
			out.Idea, err = s.cfg.Ideas.ExportPersonData(ctx, &ideav1.ExportPersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
			return err
		}},
		{"needs", func(ctx context.Context) (err error) {
			out.Needs, err = s.cfg.Needs.ExportPersonData(ctx, &needsv1.ExportPersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
			return err
		}},
		{"partner", func(ctx context.Context) (err error) {
			out.Partner, err = s.cfg.Partner.ExportPersonData(ctx, &partnerv1.ExportPersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
			return err
		}},
		{"funding", func(ctx context.Context) (err error) {
			out.Funding, err = s.cfg.Funding.ExportPersonData(ctx, &fundingv1.ExportPersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
			return err
		}},
		{"notify", func(ctx context.Context) (err error) {
			out.Notify, err = s.cfg.Notify.ExportPersonData(ctx, &notifyv1.ExportPersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
			return err
		}},
		{"reports", func(ctx context.Context) (err error) {
			out.Reports, err = s.cfg.Reports.ExportPersonData(ctx, &reportsv1.ExportPersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
			return err
		}},
	}
	for _, p := range parts {
		if err := s.part(ctx, p.service, p.f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ErasePerson erases the person in every service of the region, the
// notification service last, so nothing the others still held about the
// person becomes a new notification after its inbox is emptied. A failure
// stops the erasure and is reported; a repeat finishes it.
func (s *Server) ErasePerson(ctx context.Context, req *personv1.ErasePersonRequest) (*personv1.ErasePersonResponse, error) {
	t, err := s.resolve(ctx, req.GetName(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	parent := "regions/" + t.region
	resp := &personv1.ErasePersonResponse{Name: parent + "/persons/" + t.subject}
	if t.self {
		resp.Name = parent + "/persons/" + Me
	}
	type counts interface {
		GetRecordsChanged() int32
		GetAuditEventsRedacted() int32
	}
	add := func(service string, c counts) {
		resp.Services = append(resp.Services, &personv1.ServiceErasure{Service: service, RecordsChanged: c.GetRecordsChanged(), AuditEventsRedacted: c.GetAuditEventsRedacted()})
	}
	parts := []struct {
		service string
		f       func(ctx context.Context) (counts, error)
	}{
		{"idea", func(ctx context.Context) (counts, error) {
			return s.cfg.Ideas.ErasePersonData(ctx, &ideav1.ErasePersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
		}},
		{"needs", func(ctx context.Context) (counts, error) {
			return s.cfg.Needs.ErasePersonData(ctx, &needsv1.ErasePersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
		}},
		{"partner", func(ctx context.Context) (counts, error) {
			return s.cfg.Partner.ErasePersonData(ctx, &partnerv1.ErasePersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
		}},
		{"funding", func(ctx context.Context) (counts, error) {
			return s.cfg.Funding.ErasePersonData(ctx, &fundingv1.ErasePersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
		}},
		{"reports", func(ctx context.Context) (counts, error) {
			return s.cfg.Reports.ErasePersonData(ctx, &reportsv1.ErasePersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
		}},
		{"notify", func(ctx context.Context) (counts, error) {
			return s.cfg.Notify.ErasePersonData(ctx, &notifyv1.ErasePersonDataRequest{Parent: parent, Subject: t.subject, Email: t.email})
		}},
	}
	for _, p := range parts {
		if err := s.part(ctx, p.service, func(ctx context.Context) error {
			c, err := p.f(ctx)
			if err == nil {
				add(p.service, c)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	// Who asked is kept for the engineer on call; whom, only when an admin
	// asked (a person erasing themself leaves no trace of who they were).
	if t.self {
		s.cfg.Logger.InfoContext(ctx, "person erased at their own request", "region", t.region)
	} else {
		who, _ := auth.FromContext(ctx)
		s.cfg.Logger.InfoContext(ctx, "person erased by a region admin", "region", t.region, "admin", who.Subject)
	}
	return resp, nil
}
