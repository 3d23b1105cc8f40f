package main

import (
	"fmt"

	"google.golang.org/grpc"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// relayedIdeas is the idea service that adopts a spread idea for a region
// this deployment has no peer entry for: the national deployment's, which
// relays the adoption (services/idea/relay.go), so a region's config lists
// only the national peer. Without one, noRoute stands.
func (d deps) relayedIdeas(region string, noRoute error) (ideav1.IdeaServiceClient, error) {
	if d.national || d.nationalConn == nil {
		return nil, noRoute
	}
	conn, err := d.nationalConn("idea")
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", region, noRoute)
	}
	return ideav1.NewIdeaServiceClient(d.asService(conn, false)), nil
}

// nationalConn returns a connection to service name of the national
// deployment, for a region deployment with a national peer.
func (p *connPool) nationalConn(name string) (*grpc.ClientConn, error) {
	np, ok := p.c.ledgerPeer()
	if !ok {
		return nil, fmt.Errorf("no national peer is configured")
	}
	return p.dial(np.AddressOf(name), np.Name)
}
