package notify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/notify"
	"github.com/innovationsmotorer/motor/services/partner"
)

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	*stack.Env
	notify   *notify.Server
	clock    *clock
	ideas    ideav1.IdeaServiceClient
	offers   partnerv1.PartnerServiceClient
	funding  fundingv1.SubprojectServiceClient
	client   notifyv1.NotificationServiceClient
	newNotif func(cfg notify.Config) *notify.Server // another replica on the same store
}

// lateConn reaches the server started beside the services, on a
// connection that exists only once it runs.
type lateConn struct{ conn grpc.ClientConnInterface }

func (l *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return l.conn.Invoke(ctx, method, args, reply, opts...)
}

func (l *lateConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return l.conn.NewStream(ctx, desc, method, opts...)
}

// start runs every service and the notification service on b, the
// notification service configured by tune.
func start(t *testing.T, b stack.Backend, tune func(*notify.Config)) *env {
	return startB(t, b, tune)
}

func startB(t testing.TB, b stack.Backend, tune func(*notify.Config)) *env {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	late := &lateConn{}
	// The ledger and adoptions are called by the services as themselves.
	sys := &lateConn{}
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} // a Monday
	cfg := notify.Config{Store: st, Regions: served, Now: clk.Now,
		Webhooks: notify.WebhookPolicy{AllowHTTP: true, AllowedHosts: []string{"127.0.0.1"}}}
	if tune != nil {
		tune(&cfg)
	}
	ns, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: clk, notify: ns}
	e.newNotif = func(c notify.Config) *notify.Server {
		s, err := notify.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	e.Env = stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served,
			RegionIdeas: func(string) (ideav1.IdeaServiceClient, error) { return ideav1.NewIdeaServiceClient(sys), nil }}))
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
		fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st}))
		fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{Store: st, Regions: served, Ledger: fundingv1.NewProgrammeServiceClient(sys)}))
		notifyv1.RegisterNotificationServiceServer(s, ns)
	})
	late.conn = e.Conn
	sys.conn = auth.AsService(e.Conn, e.Credential)
	e.ideas = ideav1.NewIdeaServiceClient(e.Conn)
	e.offers = partnerv1.NewPartnerServiceClient(e.Conn)
	e.funding = fundingv1.NewSubprojectServiceClient(e.Conn)
	e.client = notifyv1.NewNotificationServiceClient(e.Conn)
	return e
}

// pump runs the dispatcher of every log and the delivery worker once.
func (e *env) pump(t *testing.T, s *notify.Server) {
	t.Helper()
	for _, region := range []string{"vasterbotten", "uppsala"} {
		for _, src := range []string{"idea", "needs", "partner", "funding"} {
			if _, err := s.Dispatch(t.Context(), src, region); err != nil {
				t.Fatalf("Dispatch %s %s: %v", src, region, err)
			}
		}
	}
	if _, err := s.Deliver(t.Context()); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
}

func (e *env) inbox(t *testing.T, c stack.Caller, parent string) *notifyv1.ListNotificationsResponse {
	t.Helper()
	r, err := e.client.ListNotifications(c.Ctx(t), &notifyv1.ListNotificationsRequest{Parent: parent})
	if err != nil {
		t.Fatalf("ListNotifications %s as %s: %v", parent, c.Sub, err)
	}
	return r
}

func types(r *notifyv1.ListNotificationsResponse) []string {
	var out []string
	for _, n := range r.GetNotifications() {
		out = append(out, n.GetType())
	}
	return out
}

// mailServer is a real SMTP server in the test process, with STARTTLS
// and AUTH PLAIN, that keeps what it receives.
type mailServer struct {
	mu sync.Mutex
	// refuse is how many recipients to refuse next, with a transient error.
	refuse int
	mails  []received
	addr   string
	certs  *x509.CertPool
}

type received struct {
	from string
	to   []string
	data string
}

func (m *mailServer) all() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.mails...)
}

type smtpBackend struct{ m *mailServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{m: b.m}, nil }

type smtpSession struct {
	m      *mailServer
	authed bool
	cur    received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "motor" || pass != "hemligt" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.refuse > 0 {
		s.m.refuse--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = decodeMail(string(b))
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, s.cur)
	s.m.mu.Unlock()
	s.cur = received{}
	return nil
}
func (s *smtpSession) Reset()        { s.cur = received{} }
func (s *smtpSession) Logout() error { return nil }

// decodeMail undoes a quoted-printable body, so tests read the text as
// the recipient does.
func decodeMail(raw string) string {
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok || !strings.Contains(strings.ToLower(head), "content-transfer-encoding: quoted-printable") {
		return raw
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		return raw
	}
	return head + "\r\n\r\n" + string(dec)
}

// startSMTP serves SMTP on loopback with the TLS certificate of an
// httptest server (a real self-signed one), refusing mail before AUTH.
func startSMTP(t *testing.T) *mailServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()
	m := &mailServer{certs: pool}
	s := smtp.NewServer(smtpBackend{m})
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.AllowInsecureAuth = false
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = lis.Addr().String()
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(func() { _ = s.Close() })
	return m
}

func (m *mailServer) mailer() notify.SMTP {
	host, port, _ := net.SplitHostPort(m.addr)
	p := 0
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return notify.SMTP{Host: host, Port: p, From: "Motor <motor@region.example>", Username: "motor", Password: "hemligt",
		TLS: &tls.Config{RootCAs: m.certs, ServerName: "example.com", MinVersion: tls.VersionTLS12}}
}

func mailTo(ms []received, addr string) []received {
	var out []received
	for _, m := range ms {
		for _, to := range m.to {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

// hasViolation reports whether err's BadRequest names field.
func hasViolation(err error, field string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
