package main

import (
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// connPool hands out one client connection per address, so services that
// share an address share a connection.
type connPool struct {
	c        serveConfig
	own      string
	tel      *telemetry.Telemetry
	mtls     mtlsConfig
	mu       sync.Mutex
	byTarget map[string]*grpc.ClientConn
}

func newConnPool(c serveConfig, own string, tel *telemetry.Telemetry, mtls mtlsConfig) *connPool {
	return &connPool{c: c, own: own, tel: tel, mtls: mtls, byTarget: map[string]*grpc.ClientConn{}}
}

// route says where service name is and which deployment answers there.
// "ledger" is the programme ledger: the national deployment's when this one
// is a region with a national peer, else the funding service's address.
// Other names are services: this process when it runs the service, else its
// -upstreams entry, else -upstream, else this process; all of them this
// deployment.
func (p *connPool) route(name string) (target, deployment string) {
	if name == "ledger" {
		if np, ok := p.c.ledgerPeer(); ok {
			return np.AddressOf("funding"), np.Name
		}
		name = "funding"
	}
	switch {
	case p.c.runs(name):
	case p.c.upstreams[name] != "":
		return p.c.upstreams[name], p.mtls.self
	case p.c.upstream != "":
		return p.c.upstream, p.mtls.self
	}
	return p.own, p.mtls.self
}

// get returns a connection to service name (see route). With TLS, the
// connection presents this deployment's certificate and accepts only the
// certificate of the deployment it means to reach.
func (p *connPool) get(name string) (*grpc.ClientConn, error) {
	target, deployment := p.route(name)
	return p.dial(target, deployment)
}

func (p *connPool) dial(target, deployment string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if conn, ok := p.byTarget[target]; ok {
		return conn, nil
	}
	opts := []grpc.DialOption{rpc.RoundRobin()}
	if target == p.own {
		opts = []grpc.DialOption{rpc.Own()}
	}
	if p.mtls.client != nil {
		cfg := p.mtls.client.Clone()
		cfg.ServerName = deployment
		opts = append(opts, rpc.WithTLS(cfg))
	}
	conn, err := rpc.Dial(target, p.tel, opts...)
	if err != nil {
		return nil, err
	}
	p.byTarget[target] = conn
	return conn, nil
}

// regionConn returns a connection to service name for region: this
// deployment's when it serves the region, else the peer deployment that
// does, at the peer's address for that service. A region nobody is
// configured for is an error that names it.
func (p *connPool) regionConn(name, region string) (*grpc.ClientConn, string, error) {
	if p.c.regions.Has(region) {
		conn, err := p.get(name)
		return conn, p.mtls.self, err
	}
	for _, peer := range p.c.peers {
		if slices.Contains(peer.ServedRegions(), region) {
			conn, err := p.dial(peer.AddressOf(name), peer.Name)
			return conn, peer.Name, err
		}
	}
	return nil, "", fmt.Errorf("region %s is served neither by this deployment nor by a configured peer", region)
}

// directory lists every region this deployment can reach: its own, then
// its peers', each once.
func (p *connPool) directory() []string {
	out := p.c.regions.IDs()
	for _, peer := range p.c.peers {
		for _, r := range peer.ServedRegions() {
			if !slices.Contains(out, r) && config.KnownRegion(r) {
				out = append(out, r)
			}
		}
	}
	return out
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, conn := range p.byTarget {
		_ = conn.Close()
	}
}
