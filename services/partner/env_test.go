package partner_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
)

// switchableNeeds is the partner service's needs client: the real one on the
// test stack's connection (set once the stack runs), which a test can take
// down to play an outage.
type switchableNeeds struct {
	needsv1.NeedsServiceClient
	down atomic.Bool
}

var errDown = status.Error(codes.Unavailable, "needs service down (test)")

func (n *switchableNeeds) ListNeeds(ctx context.Context, in *needsv1.ListNeedsRequest, opts ...grpc.CallOption) (*needsv1.ListNeedsResponse, error) {
	if n.down.Load() {
		return nil, errDown
	}
	return n.NeedsServiceClient.ListNeeds(ctx, in, opts...)
}

func (n *switchableNeeds) FindSimilarNeeds(ctx context.Context, in *needsv1.FindSimilarNeedsRequest, opts ...grpc.CallOption) (*needsv1.FindSimilarNeedsResponse, error) {
	if n.down.Load() {
		return nil, errDown
	}
	return n.NeedsServiceClient.FindSimilarNeeds(ctx, in, opts...)
}

func (n *switchableNeeds) GetNeed(ctx context.Context, in *needsv1.GetNeedRequest, opts ...grpc.CallOption) (*needsv1.Need, error) {
	if n.down.Load() {
		return nil, errDown
	}
	return n.NeedsServiceClient.GetNeed(ctx, in, opts...)
}

// env is the partner service for vasterbotten and uppsala with the needs
// service beside it on one store, reached over gRPC and REST.
type env struct {
	*stack.Env
	client partnerv1.PartnerServiceClient
	needs  needsv1.NeedsServiceClient
	outage *switchableNeeds
	clock  *atomic.Pointer[time.Time] // nil: the real time
}

type options struct {
	needsClient needsv1.NeedsServiceClient // instead of the stack's needs service
}

func newEnv(t *testing.T, b stack.Backend, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	clock := &atomic.Pointer[time.Time]{}
	now := func() time.Time {
		if c := clock.Load(); c != nil {
			return *c
		}
		return time.Now()
	}
	sw := &switchableNeeds{}
	var client needsv1.NeedsServiceClient = sw
	if o.needsClient != nil {
		client = o.needsClient
	}
	// The offers' back-references go to the needs service as this
	// deployment, on the stack's connection once it runs.
	backlinks := &switchableNeeds{}
	e := stack.Start(t, st, func(s *grpc.Server) {
		ns, err := needs.New(needs.Config{Store: st, Regions: served})
		if err != nil {
			t.Fatal(err)
		}
		needsv1.RegisterNeedsServiceServer(s, ns)
		ps, err := partner.New(partner.Config{Store: st, Regions: served, Needs: client, NeedBacklinks: backlinks, Now: now, RetryAfter: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, ps)
	})
	sw.NeedsServiceClient = needsv1.NewNeedsServiceClient(e.Conn)
	backlinks.NeedsServiceClient = needsv1.NewNeedsServiceClient(auth.AsService(e.Conn, e.Credential))
	return &env{Env: e, client: partnerv1.NewPartnerServiceClient(e.Conn), needs: sw.NeedsServiceClient, outage: sw, clock: clock}
}

// forEachBackend runs the test body on both store backends.
func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}

func (e *env) setClock(t time.Time) { e.clock.Store(&t) }

// orgNumber completes nine digits with their Luhn check digit (computed here
// independently of the service's own code).
func orgNumber(nine string) string {
	sum := 0
	for i, r := range nine {
		d := int(r - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return nine + fmt.Sprint((10-sum%10)%10)
}

func hyphenated(org string) string { return org[:6] + "-" + org[6:] }

func sampleCompany(org string) *partnerv1.Partner {
	return &partnerv1.Partner{
		DisplayName:  "Norrsken Sensorteknik AB",
		OrgNumber:    hyphenated(org),
		Kind:         partnerv1.PartnerKind_PARTNER_KIND_COMPANY,
		Size:         partnerv1.CompanySize_COMPANY_SIZE_SMALL,
		Capabilities: []string{"sensorer", "fallprevention"},
		Contacts:     []*partnerv1.Contact{{Name: "Lena Ek", Email: "lena.ek@example.se", Phone: "090-12 34 56", Role: "VD"}},
	}
}

func (e *env) mustPartner(t *testing.T, region string, p *partnerv1.Partner) *partnerv1.Partner {
	t.Helper()
	got, err := e.client.CreatePartner(e.As(t, auth.Advisor, region).Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/" + region, Partner: p})
	if err != nil {
		t.Fatalf("CreatePartner: %v", err)
	}
	return got
}

// companyUser is a partner-role caller of the given partner.
func (e *env) companyUser(t *testing.T, region, partnerName, sub string) stack.Caller {
	t.Helper()
	return stack.Caller{Token: e.Token(t, auth.Claims{Subject: sub, Name: sub, Region: region, Roles: []auth.Role{auth.Partner}, Partner: partnerName}), Sub: sub}
}

// mustNeed records a need as the region's advisor, published or not.
func (e *env) mustNeed(t *testing.T, region, problem, population, outcome string, published bool) *needsv1.Need {
	t.Helper()
	n, err := e.needs.CreateNeed(e.As(t, auth.Advisor, region).Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/" + region, Need: &needsv1.Need{
		Problem: problem, Population: population, Outcome: outcome, ReportedBy: ideav1.Origin_ORIGIN_STAFF, Published: published,
	}})
	if err != nil {
		t.Fatalf("CreateNeed: %v", err)
	}
	return n
}

func fieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// restCall sends one JSON request through the gateway and decodes the answer.
func restCall(t *testing.T, e *env, c stack.Caller, method, path, body string) (int, map[string]any) {
	t.Helper()
	return e.REST(t, c, method, path, body)
}
