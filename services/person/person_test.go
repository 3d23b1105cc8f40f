package person_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/testenv"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/notify"
	"github.com/innovationsmotorer/motor/services/partner"
	"github.com/innovationsmotorer/motor/services/person"
	"github.com/innovationsmotorer/motor/services/reports"
)

// lateConn is a connection known only once the server listens.
type lateConn struct{ conn grpc.ClientConnInterface }

func (l *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return l.conn.Invoke(ctx, method, args, reply, opts...)
}

func (l *lateConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return l.conn.NewStream(ctx, desc, method, opts...)
}

// backends are both stores; the Redis one waits, before the server stops,
// for the file rewrites the erasure started, so no rewriting child is left
// writing into a folder being removed.
func backends() []stack.Backend {
	return []stack.Backend{stack.Backends()[0], {Name: "redis", Open: func(t testing.TB) store.Store {
		r := testenv.StartRedis(t)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		st, err := redisstore.Open(ctx, r.URL())
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
		t.Cleanup(func() {
			_ = st.Close()
			defer rdb.Close()
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				info := rdb.Info(context.Background(), "persistence").Val()
				if info != "" && !strings.Contains(info, "aof_rewrite_in_progress:1") && !strings.Contains(info, "aof_rewrite_scheduled:1") &&
					!strings.Contains(info, "rdb_bgsave_in_progress:1") {
					return
				}
			}
		})
		return st
	}}}
}

// clients are the person service's clients on one connection.
func clients(cc grpc.ClientConnInterface, served config.Served) person.Config {
	return person.Config{Regions: served,
		Ideas: ideav1.NewIdeaServiceClient(cc), Needs: needsv1.NewNeedsServiceClient(cc), Partner: partnerv1.NewPartnerServiceClient(cc),
		Funding: fundingv1.NewSubprojectServiceClient(cc), Notify: notifyv1.NewNotificationServiceClient(cc), Reports: reportsv1.NewReportServiceClient(cc)}
}

func start(t *testing.T, b stack.Backend) (*stack.Env, personv1.PersonServiceClient, ideav1.IdeaServiceClient) {
	t.Helper()
	served, _ := config.ParseServed("vasterbotten")
	st := b.Open(t)
	sys, late := &lateConn{}, &lateConn{}
	env := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
		n, err := needs.New(needs.Config{Store: st, Regions: served, Ideas: ideav1.NewIdeaServiceClient(late)})
		if err != nil {
			t.Fatal(err)
		}
		needsv1.RegisterNeedsServiceServer(s, n)
		p, err := partner.New(partner.Config{Store: st, Regions: served, Needs: needsv1.NewNeedsServiceClient(late)})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, p)
		fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{Store: st, Regions: served, Ledger: fundingv1.NewProgrammeServiceClient(sys)}))
		ns, err := notify.New(notify.Config{Store: st, Regions: served})
		if err != nil {
			t.Fatal(err)
		}
		notifyv1.RegisterNotificationServiceServer(s, ns)
		reportsv1.RegisterReportServiceServer(s, reports.New(reports.Config{Store: st, Regions: served,
			Ideas: reports.GRPCIdeas(ideav1.NewIdeaServiceClient(sys)), Needs: reports.GRPCNeeds(needsv1.NewNeedsServiceClient(sys)),
			Offers: reports.GRPCOffers(partnerv1.NewPartnerServiceClient(sys))}))
		ps, err := person.New(clients(sys, served))
		if err != nil {
			t.Fatal(err)
		}
		personv1.RegisterPersonServiceServer(s, ps)
	})
	late.conn, sys.conn = env.Conn, auth.AsService(env.Conn, env.Credential)
	return env, personv1.NewPersonServiceClient(env.Conn), ideav1.NewIdeaServiceClient(env.Conn)
}

func details(name, mail string) *ideav1.Submitter {
	return &ideav1.Submitter{DisplayName: name, Email: mail, Phone: "070-123 45 67"}
}

// TestErasePerson_MergedAndByEmail: a person's duplicate merged into
// another's idea, an idea a relative sent with the person's e-mail, and a
// workshop seat. Their copy holds their duplicate with their details and
// the idea it went into without its submitter's; the admin's erasure by
// subject and e-mail clears them from all three, keeps the relative's
// ownership and the other submitter's details, takes them off a
// category's owners, and changes nothing the second time.
func TestErasePerson_MergedAndByEmail(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			env, persons, ideas := start(t, b)
			const region = "regions/vasterbotten"
			greta := env.As(t, auth.Submitter, "vasterbotten", "greta")
			olof := env.As(t, auth.Submitter, "vasterbotten", "olof")
			relative := env.As(t, auth.Submitter, "vasterbotten", "relative")
			anna := env.As(t, auth.Advisor, "vasterbotten", "anna")
			admin := env.As(t, auth.RegionAdmin, "vasterbotten", "admin")
			consent := &ideav1.Consent{StorePersonalData: true, Contact: true}
			create := func(c stack.Caller, title string, sub *ideav1.Submitter) *ideav1.Idea {
				t.Helper()
				i, err := ideas.CreateIdea(c.Ctx(t), &ideav1.CreateIdeaRequest{Parent: region, Idea: &ideav1.Idea{
					Title: title, Problem: "Ett problem som beskrivs.", Origin: ideav1.Origin_ORIGIN_PATIENT, Submitter: sub, Consent: consent}})
				if err != nil {
					t.Fatal(err)
				}
				return i
			}
			into := create(olof, "Tolk via video", details("Olof Ek", "olof@example.se"))
			dup := create(greta, "Videotolk", details("Greta Lindqvist", "greta@example.se"))
			theirs := create(relative, "Sms före besök", details("Greta Lindqvist", "greta@example.se"))
			if _, err := ideas.MergeIdea(anna.Ctx(t), &ideav1.MergeIdeaRequest{Name: dup.GetName(), MergeInto: into.GetName(), Rationale: "Samma idé.", Etag: dup.GetEtag()}); err != nil {
				t.Fatal(err)
			}
			ws, err := ideas.CreateWorkshop(anna.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: region, Workshop: &ideav1.Workshop{
				Title: "Urval", Date: "2026-05-01", Participants: []string{"greta", "anna"}, Agenda: []string{into.GetName()}}})
			if err != nil {
				t.Fatal(err)
			}

			cat, err := ideas.CreateCategory(admin.Ctx(t), &ideav1.CreateCategoryRequest{Parent: region, CategoryId: "tolkning",
				Category: &ideav1.Category{DisplayName: "Tolkning", Owners: []string{"greta", "anna"}}})
			if err != nil {
				t.Fatal(err)
			}

			mine, err := persons.ExportPersonData(greta.Ctx(t), &personv1.ExportPersonDataRequest{Name: region + "/persons/me"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*ideav1.Idea{}
			for _, i := range mine.GetIdea().GetIdeas() {
				got[i.GetName()] = i
			}
			if len(got) != 2 || got[dup.GetName()].GetSubmitter().GetEmail() != "greta@example.se" || got[into.GetName()] == nil ||
				got[into.GetName()].GetSubmitter() != nil || len(got[into.GetName()].GetCoSubmitters()) != 0 {
				t.Errorf("her copy: %v, want her duplicate with her details and the idea it went into without anyone's", got)
			}
			if len(mine.GetIdea().GetWorkshops()) != 1 || len(mine.GetIdea().GetCategories()) != 1 {
				t.Errorf("her copy has %d workshops and %d categories, want 1 and 1", len(mine.GetIdea().GetWorkshops()), len(mine.GetIdea().GetCategories()))
			}

			if _, err := persons.ErasePerson(olof.Ctx(t), &personv1.ErasePersonRequest{Name: region + "/persons/greta"}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("another submitter erases her: %v, want PERMISSION_DENIED", err)
			}
			if _, err := persons.ErasePerson(greta.Ctx(t), &personv1.ErasePersonRequest{Name: region + "/persons/me", Email: "greta@example.se"}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("she names an e-mail herself: %v, want PERMISSION_DENIED", err)
			}
			resp, err := persons.ErasePerson(admin.Ctx(t), &personv1.ErasePersonRequest{Name: region + "/persons/greta", Email: "greta@example.se"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetName() != region+"/persons/greta" || len(resp.GetServices()) != 6 || resp.GetServices()[0].GetRecordsChanged() < 5 {
				t.Errorf("erasure answer: %v, want six services and the idea service's five records", resp)
			}
			read := func(c stack.Caller, name string) *ideav1.Idea {
				t.Helper()
				i, err := ideas.GetIdea(c.Ctx(t), &ideav1.GetIdeaRequest{Name: name})
				if err != nil {
					t.Fatalf("GetIdea %s: %v", name, err)
				}
				return i
			}
			if i := read(anna, dup.GetName()); i.GetSubmitter() != nil || i.GetTitle() != "Videotolk" {
				t.Errorf("her duplicate after erasure: %v", i)
			}
			if i := read(anna, into.GetName()); len(i.GetCoSubmitters()) != 0 || i.GetSubmitter().GetEmail() != "olof@example.se" {
				t.Errorf("the idea her duplicate went into: %v, want Olof's details only", i)
			}
			if i := read(relative, theirs.GetName()); i.GetSubmitter() != nil || i.GetTitle() != "Sms före besök" {
				t.Errorf("the relative's idea: %v, want theirs still, without her details", i)
			}
			if _, err := ideas.GetIdea(greta.Ctx(t), &ideav1.GetIdeaRequest{Name: dup.GetName()}); status.Code(err) != codes.NotFound {
				t.Errorf("she reads her erased duplicate: %v, want NOT_FOUND (nothing ties it to her)", err)
			}
			w, err := ideas.GetWorkshop(anna.Ctx(t), &ideav1.GetWorkshopRequest{Name: ws.GetName()})
			if err != nil || w.GetParticipants()[0] == "greta" || w.GetParticipants()[1] != "anna" {
				t.Errorf("workshop after erasure: %v %v", w, err)
			}
			if c, err := ideas.GetCategory(anna.Ctx(t), &ideav1.GetCategoryRequest{Name: cat.GetName()}); err != nil || len(c.GetOwners()) != 1 || c.GetOwners()[0] != "anna" {
				t.Errorf("category after erasure: %v %v, want Anna its only owner", c, err)
			}
			again, err := persons.ErasePerson(admin.Ctx(t), &personv1.ErasePersonRequest{Name: region + "/persons/greta", Email: "greta@example.se"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range again.GetServices() {
				if s.GetRecordsChanged() != 0 || s.GetAuditEventsRedacted() != 0 {
					t.Errorf("the repeat changed %v", s)
				}
			}
		})
	}
}

// TestErasePerson_ServiceDown: when one service cannot be reached the
// answer is an error naming it, never an export or erasure that looks
// whole; its ErrorInfo says SERVICE_UNAVAILABLE.
func TestErasePerson_ServiceDown(t *testing.T) {
	served, _ := config.ParseServed("vasterbotten")
	dead, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dead.Close() })
	b := stack.Backends()[0]
	env := stack.Start(t, b.Open(t), func(s *grpc.Server) {
		ps, err := person.New(clients(dead, served))
		if err != nil {
			t.Fatal(err)
		}
		personv1.RegisterPersonServiceServer(s, ps)
	})
	greta := env.As(t, auth.Submitter, "vasterbotten", "greta")
	_, err = personv1.NewPersonServiceClient(env.Conn).ExportPersonData(greta.Ctx(t), &personv1.ExportPersonDataRequest{Name: "regions/vasterbotten/persons/me"})
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if st.Code() != codes.Unavailable || reason != "SERVICE_UNAVAILABLE" {
		t.Errorf("export with the idea service down: %v (%s), want UNAVAILABLE SERVICE_UNAVAILABLE", err, reason)
	}
	if _, err := person.New(person.Config{Regions: served}); err == nil {
		t.Error("person.New without clients: no error")
	}
}
