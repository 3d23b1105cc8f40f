package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
)

// accessServer is one deployment ("motor", serving vasterbotten and
// uppsala) with every service registered as `motor serve` registers them,
// on a plain-text listener and on an mTLS one, and the connections its
// callers use.
type accessServer struct {
	plain, mtls string
	certs       string
	signer      *auth.Signer
	cred        *auth.ServiceCredential
	services    map[string]grpc.ServiceInfo
}

// peersOfMotor: norr serves vasterbotten, uppsala serves uppsala, and the
// national deployment; stockholm has a certificate of the CA but is listed
// nowhere.
func peersOfMotor() map[string]auth.Peer {
	return map[string]auth.Peer{
		"norr":     {Regions: []string{"vasterbotten"}},
		"uppsala":  {},
		"national": {National: true},
	}
}

func startAccessServer(t *testing.T) *accessServer {
	t.Helper()
	dir := t.TempDir()
	s := &accessServer{certs: filepath.Join(dir, "certs")}
	if err := certs([]string{"-out", s.certs, "-regions", "motor,norr,uppsala,national,stockholm"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.signer, err = auth.GenerateDevKey(); err != nil {
		t.Fatal(err)
	}
	if s.cred, err = auth.NewServiceCredential("motor"); err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(dir, "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := rpc.ServerTLS(filepath.Join(s.certs, "ca.pem"), filepath.Join(s.certs, "motor.pem"), filepath.Join(s.certs, "motor-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	plainLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mtlsLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.plain, s.mtls = plainLis.Addr().String(), mtlsLis.Addr().String()
	self, err := rpc.Dial(s.plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = self.Close() })
	d := deps{
		store: st, regions: served, credential: s.cred,
		conn:       func(string) (*grpc.ClientConn, error) { return self, nil },
		regionConn: func(string, string) (*grpc.ClientConn, string, error) { return self, "motor", nil },
		directory:  served.IDs,
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waits []chan struct{}
	for _, l := range []struct {
		lis net.Listener
		cfg rpc.ServerConfig
	}{
		{plainLis, rpc.ServerConfig{Verifier: s.signer.Verifier(), Credential: s.cred}},
		{mtlsLis, rpc.ServerConfig{Verifier: s.signer.Verifier(), Credential: s.cred, TLS: serverTLS, Self: "motor", Peers: peersOfMotor()}},
	} {
		srv := rpc.NewServer(l.cfg)
		for _, svc := range allServices() {
			if _, err := svc.register(srv.GRPC, d); err != nil {
				t.Fatalf("register %s: %v", svc.name, err)
			}
		}
		s.services = srv.GRPC.GetServiceInfo()
		done := make(chan struct{})
		waits = append(waits, done)
		go func() { defer close(done); _ = srv.Serve(ctx, l.lis, time.Second) }()
	}
	t.Cleanup(func() {
		cancel()
		for _, w := range waits {
			<-w
		}
	})
	return s
}

func (s *accessServer) dialCert(t *testing.T, name string) *grpc.ClientConn {
	t.Helper()
	tc, err := rpc.ClientTLS(filepath.Join(s.certs, "ca.pem"), filepath.Join(s.certs, name+".pem"), filepath.Join(s.certs, name+"-key.pem"), "motor")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := rpc.Dial(s.mtls, nil, rpc.WithTLS(tc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// motorMethods lists every method of every Motor service from the
// generated file descriptors.
func motorMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "innovation.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				out = append(out, sd.Methods().Get(j))
			}
		}
		return true
	})
	return out
}

func fullMethod(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// restNames reads the gateway's HTTP rules: for each method with a route,
// the request field its path binds and the resource pattern it takes
// (e.g. name, regions/*/ideas/*).
func restNames(t *testing.T) map[string][2]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "gateway", "http.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	selector := regexp.MustCompile(`selector: ([\w.]+)`)
	binding := regexp.MustCompile(`\{([\w.]+)=([^}]+)\}`)
	method := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if m := selector.FindStringSubmatch(line); m != nil {
			i := strings.LastIndex(m[1], ".")
			method = "/" + m[1][:i] + "/" + m[1][i+1:]
		} else if m := binding.FindStringSubmatch(line); m != nil && method != "" {
			out[method] = [2]string{m[1], m[2]}
			method = ""
		}
	}
	return out
}

// request builds md's request with every top-level string field naming a
// resource of vasterbotten, so that region-bound rows see that region, and
// the field its REST route binds (if any) a well-formed name of the kind
// that route takes, so handlers get as far as checking the caller.
func request(t *testing.T, md protoreflect.MethodDescriptor, routes map[string][2]string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	m := mt.New()
	defer func() {
		route, ok := routes[fullMethod(md)]
		if !ok {
			return
		}
		name := strings.Replace(route[1], "*", "vasterbotten", 1)
		name = strings.ReplaceAll(name, "*", "x1")
		target := m
		path := strings.Split(route[0], ".")
		for _, f := range path[:len(path)-1] {
			target = target.Mutable(target.Descriptor().Fields().ByName(protoreflect.Name(f))).Message()
		}
		target.Set(target.Descriptor().Fields().ByName(protoreflect.Name(path[len(path)-1])), protoreflect.ValueOfString(name))
	}()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() != protoreflect.StringKind || f.IsList() || f.IsMap() {
			continue
		}
		switch f.Name() {
		case "page_token", "filter", "order_by":
			continue // not names; a bad one is refused before the caller is looked at
		}
		v := "regions/vasterbotten/subprojects/x"
		switch f.Name() {
		case "parent":
			v = "regions/vasterbotten"
		case "programme":
			v = "programmes/p"
		}
		m.Set(f, protoreflect.ValueOfString(v))
	}
	return m.Interface()
}

// accessRefusal reports whether err is the access gate's refusal (not a
// handler's).
func accessRefusal(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetMetadata()["layer"] == "access" {
			return status.Code(err) == codes.PermissionDenied
		}
	}
	return false
}

// caller is one kind of caller of the test.
type caller struct {
	name string
	conn grpc.ClientConnInterface
	ctx  func(t *testing.T) context.Context
	// admitted says, from the method's row, whether the gate lets it in.
	admitted func(r auth.Rule, region string) bool
	// wrongRegion: a region-bound role of another region; never OK when the
	// request names a vasterbotten resource.
	wrongRegion bool
	// unauthenticated: every non-public call is UNAUTHENTICATED.
	unauthenticated bool
}

// TestAccessTable_EveryMethodEveryCaller calls every method of every
// service, as every kind of caller, and checks the answer against the
// access table: a row for every method and no row for a method that does
// not exist, the gate admitting exactly whom the row names, handlers
// refusing the wrong region, and nobody without a caller.
func TestAccessTable_EveryMethodEveryCaller(t *testing.T) {
	s := startAccessServer(t)
	table := auth.Table()
	methods := motorMethods()
	routes := restNames(t)
	if len(routes) < 50 {
		t.Fatalf("read %d routes from the gateway's HTTP rules", len(routes))
	}

	var names []string
	for _, md := range methods {
		names = append(names, fullMethod(md))
		if _, ok := table[fullMethod(md)]; !ok {
			t.Errorf("%s has no row in auth.Table: add one saying who may call it", fullMethod(md))
		}
		if f := table[fullMethod(md)].Field; f != "" && md.Input().Fields().ByName(protoreflect.Name(f)) == nil {
			t.Errorf("%s: the row's field %q is not a field of %s", fullMethod(md), f, md.Input().FullName())
		}
		svc, ok := s.services[string(md.Parent().FullName())]
		if !ok || !slices.ContainsFunc(svc.Methods, func(m grpc.MethodInfo) bool { return m.Name == string(md.Name()) }) {
			t.Errorf("%s is in the descriptors but not registered by `motor serve`", fullMethod(md))
		}
	}
	for m := range table {
		if !slices.Contains(names, m) {
			t.Errorf("auth.Table has a row for %s, which no service has", m)
		}
	}
	if len(methods) < 60 {
		t.Fatalf("found only %d methods in the descriptors", len(methods))
	}

	plain, err := rpc.Dial(s.plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.Close() })
	token := func(role auth.Role, region string) func(t *testing.T) context.Context {
		return func(t *testing.T) context.Context {
			c := auth.Claims{Subject: string(role) + "-" + region, Region: region, Roles: []auth.Role{role}}
			if role == auth.Partner {
				c.Partner = "regions/" + region + "/partners/p"
			}
			tok, err := s.signer.Sign(c, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
		}
	}
	bare := func(t *testing.T) context.Context { return t.Context() }
	holds := func(role auth.Role) func(auth.Rule, string) bool {
		return func(r auth.Rule, _ string) bool { return slices.Contains(r.Roles, role) }
	}
	regionPeer := func(serves string) func(auth.Rule, string) bool {
		return func(r auth.Rule, region string) bool {
			switch r.Peer {
			case auth.NoPeer, auth.NationalReadsRegion:
				return false
			}
			return r.Field == "" || region == serves
		}
	}
	forged, err := auth.NewServiceCredential("motor")
	if err != nil {
		t.Fatal(err)
	}
	callers := []caller{
		{name: "no token over plain text", conn: plain, ctx: bare, unauthenticated: true},
		{name: "a service credential of another process", conn: auth.AsService(plain, forged), ctx: bare, unauthenticated: true},
		{name: "this process's service credential", conn: auth.AsService(plain, s.cred), ctx: bare, admitted: func(r auth.Rule, _ string) bool { return r.Internal }},
		{name: "this process's service credential over a peer's certificate", conn: auth.AsService(s.dialCert(t, "norr"), s.cred), ctx: bare, unauthenticated: true},
		{name: "peer norr, serving vasterbotten", conn: s.dialCert(t, "norr"), ctx: bare, admitted: regionPeer("vasterbotten")},
		{name: "peer uppsala, serving another region", conn: s.dialCert(t, "uppsala"), ctx: bare, admitted: regionPeer("uppsala")},
		{name: "the national peer", conn: s.dialCert(t, "national"), ctx: bare, admitted: func(r auth.Rule, _ string) bool { return r.Peer == auth.NationalReadsRegion || r.Relay }},
		{name: "stockholm, a certificate of the CA listed nowhere", conn: s.dialCert(t, "stockholm"), ctx: bare, admitted: func(auth.Rule, string) bool { return false }},
		{name: "stockholm with a token of its own region", conn: s.dialCert(t, "stockholm"), ctx: token(auth.Advisor, "stockholm"), admitted: func(auth.Rule, string) bool { return false }},
		{name: "coordinator", conn: plain, ctx: token(auth.Coordinator, auth.NationalRegion), admitted: holds(auth.Coordinator)},
		{name: "service token", conn: plain, ctx: token(auth.Service, auth.NationalRegion), admitted: holds(auth.Service)},
	}
	for _, role := range []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner} {
		callers = append(callers,
			caller{name: string(role) + " of vasterbotten", conn: plain, ctx: token(role, "vasterbotten"), admitted: holds(role)},
			caller{name: string(role) + " of uppsala", conn: plain, ctx: token(role, "uppsala"), admitted: holds(role), wrongRegion: true},
		)
	}
	calls, wrongRegionCalls := 0, 0
	for _, md := range methods {
		method := fullMethod(md)
		rule := table[method]
		for _, c := range callers {
			req := request(t, md, routes)
			region := "vasterbotten"
			resp, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(c.ctx(t), 5*time.Second)
			err = c.conn.Invoke(ctx, method, req, resp.New().Interface())
			cancel()
			calls++
			// A region-bound role of another region, admitted by the table,
			// on a well-formed vasterbotten name: the handler must refuse.
			regionChecked := c.wrongRegion && c.admitted(rule, region) && strings.HasPrefix(routes[method][1], "regions/")
			if regionChecked {
				wrongRegionCalls++
			}
			switch {
			case c.unauthenticated:
				if status.Code(err) != codes.Unauthenticated {
					t.Errorf("%s by %s: %v, want UNAUTHENTICATED", method, c.name, err)
				}
				continue
			case c.admitted(rule, region) == accessRefusal(err):
				want := "refused by the access gate"
				if c.admitted(rule, region) {
					want = "admitted"
				}
				t.Errorf("%s by %s: %v; the table says %s", method, c.name, err, want)
			case status.Code(err) == codes.Unauthenticated:
				t.Errorf("%s by %s: %v; a caller with a valid identity is never UNAUTHENTICATED", method, c.name, err)
			case c.wrongRegion && err == nil && strings.Contains(protoText(req), "regions/vasterbotten"):
				t.Errorf("%s by %s succeeded on a vasterbotten resource", method, c.name)
			case regionChecked && status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.NotFound:
				t.Errorf("%s by %s on a vasterbotten resource: %v; want PERMISSION_DENIED or NOT_FOUND", method, c.name, err)
			}
		}
	}
	t.Logf("%d methods × %d kinds of caller: %d calls, %d of them by another region's staff on a well-formed name", len(methods), len(callers), calls, wrongRegionCalls)
	if wrongRegionCalls < 50 {
		t.Errorf("only %d calls checked the region rule of handlers", wrongRegionCalls)
	}
}

func protoText(m proto.Message) string {
	b, _ := proto.Marshal(m)
	return string(b)
}
