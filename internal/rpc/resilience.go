package rpc

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"
)

// Keepalive between Motor's processes: a client pings an idle connection
// every KeepaliveTime and drops it when no answer comes within
// KeepaliveTimeout, so a peer that hangs is noticed in seconds, not when
// the kernel gives up. Servers accept pings down to KeepaliveMinTime apart
// (a client pinging every 10 s is not sent GOAWAY too_many_pings) and
// recycle connections after MaxConnectionAge, so clients rebalance over
// replicas.
const (
	KeepaliveTime         = 20 * time.Second
	KeepaliveTimeout      = 10 * time.Second
	KeepaliveMinTime      = 5 * time.Second
	MaxConnectionAge      = 30 * time.Minute
	MaxConnectionAgeGrace = time.Minute
	// MaxReconnectDelay bounds the reconnect backoff: a peer that comes back
	// is used again within this, not after gRPC's default of up to 120 s.
	MaxReconnectDelay = 2 * time.Second
)

func serverKeepalive() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:                  KeepaliveTime,
			Timeout:               KeepaliveTimeout,
			MaxConnectionAge:      MaxConnectionAge,
			MaxConnectionAgeGrace: MaxConnectionAgeGrace,
		}),
	}
}

func clientResilience() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: KeepaliveTime, Timeout: KeepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: MaxReconnectDelay},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
}
