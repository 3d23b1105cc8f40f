package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// serveEnv is what the pieces of `motor serve` share once it has its
// config, identity, store and connections.
type serveEnv struct {
	c         serveConfig
	logger    *slog.Logger
	tel       *telemetry.Telemetry
	verifier  *auth.Verifier
	devSigner *auth.Signer
	mtls      mtlsConfig
	refused   *shedCounter
	st        store.Store // nil when this process runs no service
	conns     *connPool
	life      *lifecycle
	stdout    io.Writer
}

// startServices builds the services this process runs on one gRPC server,
// serves them on lis (and the plain-text health listener), and seeds demo
// content. Background work runs on runCtx; the seeds on ctx.
func (e *serveEnv) startServices(ctx, runCtx context.Context, running []service, lis net.Listener) error {
	c := e.c
	peers := map[string]auth.Peer{}
	for _, p := range c.peers {
		peers[p.Name] = auth.Peer{Regions: p.ServedRegions(), National: p.National}
	}
	cred, err := auth.NewServiceCredential(e.mtls.self)
	if err != nil {
		return err
	}
	srv := rpc.NewServer(rpc.ServerConfig{Logger: e.logger, Verifier: e.verifier, Telemetry: e.tel, TLS: e.mtls.server, Self: e.mtls.self, Peers: peers, Credential: cred,
		Admission: grpcAdmission(c.limits, e.refused)})
	d := deps{store: e.st, regions: c.regions, logger: e.logger, tel: e.tel, conn: e.conns.get, regionConn: e.conns.regionConn, directory: e.conns.directory, devSigner: e.devSigner, weights: c.weights, credential: cred,
		ctx: runCtx, reconcile: c.reconcile, idempotencyTTL: c.idempotencyTTL,
		notify: c.notify, dataDir: c.data, devMode: e.devSigner != nil, background: func(f func(context.Context) error) {
			e.life.run(func() error { return f(runCtx) })
		}}
	if np, ok := c.ledgerPeer(); ok {
		d.nationalLedger = fmt.Sprintf("%s (%s)", np.Name, np.AddressOf("funding"))
	}
	var seeds []func(context.Context) error
	var names []string
	for _, svc := range running {
		seed, err := svc.register(srv.GRPC, d)
		if err != nil {
			return fmt.Errorf("start %s: %w", svc.name, err)
		}
		if seed != nil {
			seeds = append(seeds, seed)
		}
		names = append(names, svc.name)
	}
	healthNames := servingAll(srv)
	go watchStore(runCtx, e.st, srv.Health, e.logger, storeWatch{}, healthNames...)
	go func() {
		<-e.life.draining
		srv.Health.Shutdown() // probes and peers look elsewhere while we drain
	}()
	if c.health != "" {
		hl, err := net.Listen("tcp", c.health)
		if err != nil {
			return fmt.Errorf("listen health: %w", err)
		}
		e.life.run(func() error { return srv.ServeHealth(runCtx, hl) })
		fmt.Fprintf(e.stdout, "motor: health (plain text, grpc.health.v1 only) on %s\n", hl.Addr())
	}
	// gRPC drains after HTTP: the gateway's calls in flight need the
	// services until their last answer is written.
	e.life.run(func() error { return srv.ServeDrain(e.life.grpcCtx, lis, e.life.drainLeft) })
	if c.demo {
		for _, seed := range seeds {
			if err := seed(ctx); err != nil {
				return fmt.Errorf("seed demo content: %w", err)
			}
		}
	}
	fmt.Fprintf(e.stdout, "motor: gRPC services %s on %s (regions %s, store %s)\n", strings.Join(names, ","), lis.Addr(), c.regions, storeName(c))
	return nil
}
