package reports

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// ExportCollections and ExportFormats are what may be exported, and how.
var (
	ExportCollections = []string{"ideas", "needs", "subprojects", "costReports", "partners", "offers"}
	ExportFormats     = []string{"csv", "excel.csv", "xlsx"}
)

// RecordExport writes an export's audit record in the region's reports log.
func (s *Server) RecordExport(ctx context.Context, req *reportsv1.RecordExportRequest) (*reportsv1.ExportRecord, error) {
	var v errs.Violations
	region, err := resource.ParseRegion(req.GetParent())
	if err != nil {
		v.Add("parent", "%v", err)
	}
	if !slices.Contains(ExportCollections, req.GetCollection()) {
		v.Add("collection", "%q is not exported: use one of %v", req.GetCollection(), ExportCollections)
	}
	if !slices.Contains(ExportFormats, req.GetFormat()) {
		v.Add("format", "%q is not a format: use one of %v", req.GetFormat(), ExportFormats)
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	who, err := resource.Caller(ctx, domain, s.regions, region,
		auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator)
	if err != nil {
		return nil, err
	}
	now := s.now()
	name := req.GetParent() + "/exports/" + req.GetCollection() + "." + req.GetFormat()
	_, err = s.store.Commit(ctx, ns(region), store.Write{Events: []store.Event{{
		Time: now, Actor: who.Actor(), Action: "RecordExport", Key: name,
		Detail: "roles " + rolesOf(who),
	}}})
	if err != nil {
		return nil, domain.Store(err, "EXPORT", "audit record of an export of "+region)
	}
	return &reportsv1.ExportRecord{Name: name, Actor: who.Actor(), Time: timestamppb.New(now)}, nil
}

func rolesOf(who *auth.Identity) string {
	names := make([]string, len(who.Roles))
	for i, r := range who.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

// ListAuditEvents lets a region admin read the exports recorded for their
// region.
func (s *Server) ListAuditEvents(ctx context.Context, req *reportsv1.ListAuditEventsRequest) (*reportsv1.ListAuditEventsResponse, error) {
	log := audit.Log{Store: s.store, Service: "reports", Domain: domain, Regions: s.regions}
	events, next, err := log.List(ctx, req)
	if err != nil {
		return nil, err
	}
	return &reportsv1.ListAuditEventsResponse{Events: events, NextPageToken: next}, nil
}
