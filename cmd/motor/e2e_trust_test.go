package main

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/rpc"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// dialAs connects to deployment r's gRPC port with the certificate of
// deployment cert, as another deployment (or one the CA knows and nobody
// lists) would.
func (m *multiRegion) dialAs(t *testing.T, cert string, r *region) *grpc.ClientConn {
	t.Helper()
	tc, err := rpc.ClientTLS(filepath.Join(m.certs, "ca.pem"), filepath.Join(m.certs, cert+".pem"), filepath.Join(m.certs, cert+"-key.pem"), r.name)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := rpc.Dial(r.proc.grpc, nil, rpc.WithTLS(tc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// refusals reads the access gate's refusal count from a deployment's
// Prometheus metrics on its admin listener.
func refusals(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^motor_access_refusals_total\{[^}]*\} (\d+)`).FindAllStringSubmatch(string(body), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

// TestMultiRegion_TrustBoundaries attacks the three deployments over mTLS
// the way a deployment's certificate could: without a token, with another
// region's, and as a deployment the CA knows but no deployment lists.
func TestMultiRegion_TrustBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three deployments")
	}
	m := startMultiRegion(t)
	// stockholm: a certificate of the same CA that no deployment lists.
	if out, err := exec.Command(m.bin, "certs", "-out", m.certs, "-regions", "stockholm").CombinedOutput(); err != nil {
		t.Fatalf("motor certs: %v\n%s", err, out)
	}
	coord := m.token(t, "-role", "coordinator")
	const programme = "programmes/e2e-trust"
	mustCall(t, "POST", m.national.proc.url+"/v1/programmes?programmeId=e2e-trust&requestId=p", coord,
		`{"title":"Nationellt program","budgetOre":"10000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)
	sp := m.subproject(t, m.vb, programme, 465_000, "vb-approved")
	sp = mustCall(t, "POST", m.vb.proc.url+"/v1/"+jsonField(sp, "name")+":approve", coord, `{"etag":"`+jsonField(sp, "etag")+`"}`)
	vbSub := jsonField(sp, "name")
	before := refusals(t, m.national.proc.admin)

	bare := t.Context() // no token: the certificate is the caller
	with := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+token)
	}
	ledgerAs := func(cert string) fundingv1.ProgrammeServiceClient {
		return fundingv1.NewProgrammeServiceClient(m.dialAs(t, cert, m.national))
	}
	ideasAs := func(cert string, r *region) ideav1.IdeaServiceClient {
		return ideav1.NewIdeaServiceClient(m.dialAs(t, cert, r))
	}
	pay := &fundingv1.RecordPaymentRequest{Programme: programme, Subproject: vbSub, CostReport: vbSub + "/costReports/doesnotexist", AmountOre: 40_000_000}
	release := &fundingv1.ReleaseFundsRequest{Programme: programme, Subproject: vbSub}
	newIdea := &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{Title: "Från fel håll", Problem: "Skapad med en annan regions certifikat.", Origin: ideav1.Origin_ORIGIN_STAFF}}

	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"Uppsala pays out for a Västerbotten subproject", func() error { _, err := ledgerAs("uppsala").RecordPayment(bare, pay); return err }, codes.PermissionDenied},
		{"Uppsala releases a Västerbotten approval", func() error { _, err := ledgerAs("uppsala").ReleaseFunds(bare, release); return err }, codes.PermissionDenied},
		{"Uppsala reserves for a Västerbotten subproject", func() error {
			_, err := ledgerAs("uppsala").ReserveFunds(bare, &fundingv1.ReserveFundsRequest{Programme: programme, Subproject: "regions/vasterbotten/subprojects/other", AmountOre: 1})
			return err
		}, codes.PermissionDenied},
		{"a coordinator's token through Västerbotten's certificate pays", func() error { _, err := ledgerAs("vasterbotten").RecordPayment(with(coord), pay); return err }, codes.PermissionDenied},
		{"Uppsala lists Västerbotten's ideas", func() error {
			_, err := ideasAs("uppsala", m.vb).ListIdeas(bare, &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
			return err
		}, codes.PermissionDenied},
		{"Uppsala creates an idea in Västerbotten", func() error { _, err := ideasAs("uppsala", m.vb).CreateIdea(bare, newIdea); return err }, codes.PermissionDenied},
		{"Uppsala adopts a made-up idea into Västerbotten", func() error {
			_, err := ideasAs("uppsala", m.vb).AdoptIdea(bare, &ideav1.AdoptIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea.GetIdea(), SpreadFrom: "regions/vasterbotten/ideas/x"})
			return err
		}, codes.PermissionDenied},
		{"an Uppsala advisor's token adopts into Västerbotten", func() error {
			_, err := ideasAs("uppsala", m.vb).AdoptIdea(with(m.token(t, "-role", "advisor", "-region", "uppsala")),
				&ideav1.AdoptIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea.GetIdea(), SpreadFrom: "regions/uppsala/ideas/doesnotexist"})
			return err
		}, codes.PermissionDenied},
		{"stockholm, listed nowhere, reads the programme", func() error {
			_, err := ledgerAs("stockholm").GetProgramme(bare, &fundingv1.GetProgrammeRequest{Name: programme})
			return err
		}, codes.PermissionDenied},
		{"stockholm with its own advisor's token", func() error {
			_, err := ledgerAs("stockholm").GetProgramme(with(m.token(t, "-role", "advisor", "-region", "stockholm")), &fundingv1.GetProgrammeRequest{Name: programme})
			return err
		}, codes.PermissionDenied},
		{"the national deployment creates an idea in Västerbotten", func() error { _, err := ideasAs("national", m.vb).CreateIdea(bare, newIdea); return err }, codes.PermissionDenied},
		// What the relationships do allow.
		{"Västerbotten reads the programme", func() error {
			_, err := ledgerAs("vasterbotten").GetProgramme(bare, &fundingv1.GetProgrammeRequest{Name: programme})
			return err
		}, codes.OK},
		{"Västerbotten releases its own subproject's remainder", func() error {
			_, err := ledgerAs("vasterbotten").ReleaseFunds(bare, &fundingv1.ReleaseFundsRequest{Programme: programme, Subproject: "regions/vasterbotten/subprojects/never-reserved"})
			return err
		}, codes.OK},
		{"the national deployment reads Västerbotten's figures", func() error {
			_, err := ideasAs("national", m.vb).GetIdeaStats(bare, &ideav1.GetIdeaStatsRequest{Name: "regions/vasterbotten/ideaStats"})
			return err
		}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); status.Code(err) != tc.want {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}

	// Nothing moved: the approval still holds its grant on the ledger.
	p := mustCall(t, "GET", m.national.proc.url+"/v1/"+programme, coord, "")
	b, _ := p["balance"].(map[string]any)
	if jsonField(b, "reservedOre") != "465000" || jsonField(b, "disbursedOre") != "" && jsonField(b, "disbursedOre") != "0" {
		t.Errorf("balance after the attacks: %v, want 465000 reserved and nothing paid", b)
	}
	if got := mustCall(t, "GET", m.vb.proc.url+"/v1/"+vbSub, coord, ""); jsonField(got, "status") != "SUBPROJECT_STATUS_APPROVED" || jsonField(got, "grantedOre") != "465000" {
		t.Errorf("the Västerbotten subproject after the attacks: %v", got)
	}
	if list := listCount(t, m.vb.proc.url, m.token(t, "-role", "advisor", "-region", "vasterbotten")); list != 0 {
		t.Errorf("Västerbotten holds %d ideas after the attacks, want 0", list)
	}
	// The national deployment counted every refusal it made (six of the
	// calls above went to its ledger and were refused).
	if after := refusals(t, m.national.proc.admin); after-before < 6 {
		t.Errorf("national refusal count went from %d to %d, want at least 6 more", before, after)
	}
	for _, r := range []*region{m.up, m.vb, m.national} {
		r.proc.stop(t)
	}
}
