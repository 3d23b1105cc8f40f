package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// serve is `motor serve`: the config (serve_config.go), the identity and
// TLS material (identity.go), the store (serve_store.go), the services on
// one gRPC server (serve_grpc.go, services.go), the gateway and portal on
// HTTP (serve_http.go), and the drain on SIGTERM (drain.go).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(stderr, c.logLevel)
	tel, err := setupTelemetry(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	}()

	c.oidc.Logger = logger
	verifier, devSigner, err := identity(ctx, c)
	if err != nil {
		return err
	}
	mtls, err := loadMTLS(c)
	if err != nil {
		return err
	}
	e := &serveEnv{c: c, logger: logger, tel: tel, verifier: verifier, devSigner: devSigner, mtls: mtls,
		refused: newShedCounter(tel, logger), stdout: stdout}

	running := c.services()
	if len(running) > 0 {
		st, err := openStore(ctx, c)
		if err != nil {
			return err
		}
		defer st.Close()
		if e.st, err = store.Instrument(st, storeBackend(c), tel.MeterProvider); err != nil {
			return fmt.Errorf("store.Instrument: %w", err)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.life = newLifecycle(c.drain)
	defer e.life.grpcCancel()
	if c.admin != "" {
		done, err := serveAdmin(runCtx, c.admin, tel, logger, stdout)
		if err != nil {
			return err
		}
		e.life.wait(done)
	}

	// The gRPC listener comes first: the connections to this process's own
	// services need its address.
	var lis net.Listener
	grpcAddr := c.grpcAddr
	if len(running) > 0 {
		lis, err = net.Listen("tcp", c.grpcAddr)
		if err != nil {
			return fmt.Errorf("listen gRPC: %w", err)
		}
		grpcAddr = lis.Addr().String()
	}
	e.conns = newConnPool(c, grpcAddr, tel, mtls)
	defer e.conns.close()
	if len(running) > 0 {
		if err := e.startServices(ctx, runCtx, running, lis); err != nil {
			return err
		}
	}
	httpURL, err := e.startHTTP(ctx)
	if err != nil {
		return err
	}
	e.announce(grpcAddr, httpURL)
	return e.life.runUntilStopped(ctx, cancel, logger)
}

// announce says on stdout what this process is and how to use it, and
// logs that it started.
func (e *serveEnv) announce(grpcAddr, httpURL string) {
	c, mtls := e.c, e.mtls
	if mtls.server != nil {
		fmt.Fprintf(e.stdout, "motor: mTLS as deployment %s (CA %s)\n", mtls.self, c.tls.CA)
	}
	if np, ok := c.ledgerPeer(); ok {
		fmt.Fprintf(e.stdout, "motor: programme ledger at the national deployment %s (%s)\n", np.Name, np.AddressOf("funding"))
	}
	devMode := e.devSigner != nil
	if devMode {
		keyDir := c.keyDir()
		hint := "-role coordinator"
		if ids := c.regions.IDs(); len(ids) > 0 {
			hint = "-role advisor -region " + ids[0]
		}
		fmt.Fprintf(e.stdout, "motor: dev mode: tokens are signed with the key in %s; get one with\n  go run ./cmd/motor token -data %s %s\n",
			keyDir, keyDir, hint)
	}
	fmt.Fprintln(e.stdout, "motor: ready")
	e.logger.Info("motor started", "targets", c.targets, "regions", c.regions.String(), "grpc", grpcAddr, "http", httpURL, "dev_mode", devMode,
		"deployment", mtls.self, "national", c.national, "mtls", mtls.server != nil)
}
