package exports

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // Swedish days must not depend on the host's zoneinfo

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// ProgrammePattern is the route of the programme report.
const ProgrammePattern = "GET /v1/national/programmeReports/{file}"

// ProgrammeHandler serves a programme's report for its funder, as JSON or
// XLSX: every allocation on the ledger with the subproject it funds. It
// reads with the caller's token, so it shows what the API shows them: a
// national coordinator every subproject of the regions this deployment
// reaches, anyone else the ledger's figures and the subprojects they may
// read (the others are rows marked unavailable, and the report partial).
func ProgrammeHandler(conns map[string]*grpc.ClientConn) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, format, _ := strings.Cut(r.PathValue("file"), ".")
		var v errs.Violations
		if id == "" {
			v.Add("programme", "is required, as in programmeReports/motor-2026.json")
		}
		if format != "json" && format != "xlsx" {
			v.Add("format", "%q is not a format: use json or xlsx (as in programmeReports/%s.xlsx)", format, id)
		}
		if err := v.Err(domain); err != nil {
			writeError(w, err)
			return
		}
		conn := conns["funding"]
		if conn == nil {
			writeError(w, status.Error(codes.NotFound, "programme reports are not served here: this gateway fronts no funding service"))
			return
		}
		ctx := r.Context()
		if a := r.Header.Get("Authorization"); a != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
		}
		rep, err := programmeReport(ctx, fundingv1.NewProgrammeServiceClient(conn), fundingv1.NewSubprojectServiceClient(conn), "programmes/"+id)
		if err != nil {
			writeError(w, err)
			return
		}
		if format == "json" {
			b, err := protojson.Marshal(rep)
			if err != nil {
				writeError(w, status.Error(codes.Internal, "the report could not be written"))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(b)
			return
		}
		e := &export{w: w, name: id}
		if err := e.xlsx(programmeHeader, func(put func([]string) error) error {
			for _, row := range rep.GetRows() {
				if err := put(programmeRow(row)); err != nil {
					return err
				}
			}
			return put([]string{"", "total", "", "", "", "", "", "",
				fmt.Sprint(rep.GetReservedOre() + rep.GetReleasedOre()), fmt.Sprint(rep.GetPaidOre()), fmt.Sprint(rep.GetReleasedOre()), "", "", ""})
		}); err != nil {
			if e.started {
				panic(http.ErrAbortHandler)
			}
			writeError(w, err)
		}
	})
}

var programmeHeader = []string{"region", "subproject", "title", "status", "eligibleCostOre", "programmeShareOre", "ownShareOre",
	"contributions", "grantedOre", "paidOre", "releasedOre", "approvedDate", "releasedDate", "available"}

func programmeRow(r *reportsv1.ProgrammeReportRow) []string {
	return []string{r.GetRegion(), r.GetSubproject(), r.GetTitle(), r.GetStatus(),
		fmt.Sprint(r.GetEligibleCostOre()), fmt.Sprint(r.GetProgrammeShareOre()), fmt.Sprint(r.GetOwnShareOre()), r.GetContributions(),
		fmt.Sprint(r.GetGrantedOre()), fmt.Sprint(r.GetPaidOre()), fmt.Sprint(r.GetReleasedOre()),
		r.GetApprovedDate(), r.GetReleasedDate(), fmt.Sprint(r.GetAvailable())}
}

// programmeReport reads the programme, pages through its allocations and
// reads each subproject.
func programmeReport(ctx context.Context, ledger fundingv1.ProgrammeServiceClient, subs fundingv1.SubprojectServiceClient, name string) (*reportsv1.ProgrammeReport, error) {
	p, err := ledger.GetProgramme(ctx, &fundingv1.GetProgrammeRequest{Name: name})
	if err != nil {
		return nil, err
	}
	rep := &reportsv1.ProgrammeReport{Programme: p.GetName(), Title: p.GetTitle(), BudgetOre: p.GetBudgetOre(), CoFinancingRateBp: p.GetCoFinancingRateBp(),
		BalanceReservedOre: p.GetBalance().GetReservedOre(), BalanceDisbursedOre: p.GetBalance().GetDisbursedOre()}
	req := &fundingv1.ListAllocationsRequest{Parent: name, PageSize: pageSize}
	for {
		resp, err := ledger.ListAllocations(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, a := range resp.GetAllocations() {
			row := &reportsv1.ProgrammeReportRow{
				Subproject: a.GetSubproject(), GrantedOre: a.GetReservedOre() + a.GetReleasedOre(),
				PaidOre: a.GetDisbursedOre(), ReleasedOre: a.GetReleasedOre(),
				ApprovedDate: date(a.GetReserveTime()), ReleasedDate: date(a.GetReleaseTime()),
			}
			if parts := strings.Split(a.GetSubproject(), "/"); len(parts) > 1 {
				row.Region = parts[1]
			}
			rep.ReservedOre += a.GetReservedOre()
			rep.PaidOre += a.GetDisbursedOre()
			rep.ReleasedOre += a.GetReleasedOre()
			sp, err := subs.GetSubproject(ctx, &fundingv1.GetSubprojectRequest{Name: a.GetSubproject()})
			if err != nil {
				row.UnavailableReason = status.Convert(err).Message()
				rep.Partial = true
			} else {
				row.Available = true
				row.Title, row.Status = sp.GetTitle(), sp.GetStatus().String()
				row.EligibleCostOre, row.ProgrammeShareOre, row.OwnShareOre = sp.GetEligibleCostOre(), sp.GetProgrammeShareOre(), sp.GetOwnShareOre()
				var cs []string
				for _, c := range sp.GetContributions() {
					cs = append(cs, fmt.Sprintf("%s (%s): %d öre", c.GetParty(), strings.TrimPrefix(c.GetKind().String(), "CONTRIBUTION_KIND_"), c.GetAmountOre()))
				}
				row.Contributions = strings.Join(cs, "; ")
			}
			rep.Rows = append(rep.Rows, row)
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	rep.AgreesWithLedger = rep.ReservedOre == rep.BalanceReservedOre && rep.PaidOre == rep.BalanceDisbursedOre
	return rep, nil
}

// stockholm is where dates are days.
var stockholm = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// date is a time's Swedish day, YYYY-MM-DD ("" when unset).
func date(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(stockholm).Format(time.DateOnly)
}
