package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replyCutter is a TCP proxy on loopback that, while cut, passes what the
// client sends and throws away what the server answers: the national
// ledger does the work and the region never hears of it.
type replyCutter struct {
	lis    net.Listener
	target string
	cut    atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newReplyCutter(t *testing.T, target string) *replyCutter {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyCutter{lis: lis, target: target}
	t.Cleanup(func() { _ = lis.Close(); p.drop() })
	go p.serve()
	return p
}

func (p *replyCutter) serve() {
	for {
		client, err := p.lis.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 && !p.cut.Load() {
					if _, werr := client.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			_ = client.Close()
		}()
	}
}

// drop closes every connection through the proxy: after answers were
// thrown away the streams are garbage, and the client must reconnect.
func (p *replyCutter) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestMultiRegion_NoMoneyInLimbo: with the national ledger's answers lost
// on their way back to Västerbotten, an approval reserves on the national
// ledger but the region cannot know; it says so (503, "may have been
// reserved", repeat to complete) instead of "nothing was reserved", and once
// the answers flow again the region's reconciler completes the approval on
// its own.
func TestMultiRegion_NoMoneyInLimbo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three deployments")
	}
	var proxy *replyCutter
	m := startMultiRegion(t, func(o *multiOptions) {
		o.ledgerVia = func(national string) string {
			proxy = newReplyCutter(t, national)
			return proxy.lis.Addr().String()
		}
		o.vbArgs = []string{"-reconcile-interval", "300ms", "-reconcile-grace", "1s"}
	})
	coord := m.token(t, "-role", "coordinator")
	const programme = "programmes/e2e-limbo"
	mustCall(t, "POST", m.national.proc.url+"/v1/programmes?programmeId=e2e-limbo&requestId=p", coord,
		`{"title":"Nationellt program","budgetOre":"1000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)
	sp := m.subproject(t, m.vb, programme, 300_000, "vb-limbo")
	name := jsonField(sp, "name")

	proxy.cut.Store(true)
	code, body := call(t, "POST", m.vb.proc.url+"/v1/"+name+":approve", coord, `{"etag":"`+jsonField(sp, "etag")+`"}`)
	msg := jsonField(body, "message")
	if code != 503 || !strings.Contains(msg, "may have been reserved") || !strings.Contains(msg, "repeated") || strings.Contains(msg, "nothing was") {
		t.Errorf("approve with the ledger's answer lost: %d %v; want 503 saying the share may have been reserved and that repeating completes it", code, body)
	}
	p := mustCall(t, "GET", m.national.proc.url+"/v1/"+programme, coord, "")
	b, _ := p["balance"].(map[string]any)
	if jsonField(b, "reservedOre") != "300000" {
		t.Fatalf("national balance with the answer lost: %v, want the 300000 öre reserved", b)
	}
	proxy.cut.Store(false)
	proxy.drop()

	deadline := time.Now().Add(40 * time.Second)
	for {
		got := mustCall(t, "GET", m.vb.proc.url+"/v1/"+name, coord, "")
		if jsonField(got, "status") == "SUBPROJECT_STATUS_APPROVED" {
			if jsonField(got, "grantedOre") != "300000" {
				t.Errorf("reconciled approval granted %s öre, want 300000", jsonField(got, "grantedOre"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reconciler did not complete the approval: %v\n%s", got, m.vb.proc.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	audit := mustCall(t, "GET", m.vb.proc.url+"/v1/regions/vasterbotten/audit/funding?pageSize=100", m.token(t, "-role", "region_admin", "-region", "vasterbotten"), "")
	if !strings.Contains(fmt.Sprint(audit), "system:reconciler") {
		t.Errorf("the region's audit log does not name the reconciler: %v", audit)
	}
	for _, r := range []*region{m.up, m.vb, m.national} {
		r.proc.stop(t)
	}
}
