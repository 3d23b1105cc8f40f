package notify_test

import (
	"sync"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// TestDeadlines_FireOnceWithTwoReplicas: with a clock the test moves, an
// offer nobody answered is announced two working days before respond_by and
// when it is past, each once, though two replicas check at the same time
// and again later.
func TestDeadlines_FireOnceWithTwoReplicas(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var cfg notify.Config
			e := start(t, b, func(c *notify.Config) { cfg = *c })
			second := e.newNotif(cfg)
			admin := e.As(t, auth.RegionAdmin, "vasterbotten")
			p, err := e.offers.CreatePartner(admin.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{
				DisplayName: "Exempel AB", OrgNumber: "5560000019", Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL}})
			if err != nil {
				t.Fatal(err)
			}
			o, err := e.offers.CreateOffer(admin.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: &partnerv1.Offer{
				Partner: p.GetName(), Title: "Fallsensor", Description: "Larmar vid fall."}})
			if err != nil {
				t.Fatal(err)
			}
			due, err := time.Parse(time.DateOnly, o.GetRespondBy())
			if err != nil {
				t.Fatal(err)
			}
			anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
			count := func(typ string) int {
				n := 0
				for _, x := range e.inbox(t, anna, "regions/vasterbotten").GetNotifications() {
					if x.GetType() == typ && x.GetSubject() == o.GetName() {
						n++
					}
				}
				return n
			}
			both := func() {
				var wg sync.WaitGroup
				for _, s := range []*notify.Server{e.notify, second} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := s.CheckDeadlines(t.Context()); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			at := func(day time.Time) {
				e.clock.mu.Lock()
				e.clock.t = day.Add(10 * time.Hour) // mid-morning in Sweden
				e.clock.mu.Unlock()
			}
			// A week before: nothing yet.
			at(due.AddDate(0, 0, -7))
			both()
			if n := count(notify.TypeOfferDueSoon); n != 0 {
				t.Fatalf("a week before: %d due-soon notifications", n)
			}
			// The working day before respond_by: due soon, once.
			before := due.AddDate(0, 0, -1)
			for before.Weekday() == time.Saturday || before.Weekday() == time.Sunday {
				before = before.AddDate(0, 0, -1)
			}
			at(before)
			both()
			both()
			if n := count(notify.TypeOfferDueSoon); n != 1 {
				t.Fatalf("before respond_by: %d due-soon notifications, want 1", n)
			}
			// Past it: overdue, once, and due soon still once.
			at(due.AddDate(0, 0, 1))
			both()
			at(due.AddDate(0, 0, 3))
			both()
			if n, m := count(notify.TypeOfferOverdue), count(notify.TypeOfferDueSoon); n != 1 || m != 1 {
				t.Fatalf("after respond_by: %d overdue, %d due soon; want 1 each", n, m)
			}
		})
	}
}
