package rpc

import "google.golang.org/grpc"

// roundRobinConfig spreads calls over every address a target resolves to
// and skips a backend whose overall grpc.health.v1 status is not SERVING
// (one draining after SIGTERM). With a headless Kubernetes Service
// the target resolves to every ready pod; the servers' maximum connection
// age makes clients resolve again, so new pods are picked up.
const roundRobinConfig = `{"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}`

// RoundRobin is the dial option of connections between Motor's targets:
// balanced over the backends of a name, not pinned to the first.
func RoundRobin() grpc.DialOption {
	return grpc.WithDefaultServiceConfig(roundRobinConfig)
}

// Own is the dial option of a process's connection to its own listener:
// no health checking, since the process's health turns NOT_SERVING the
// moment it starts to drain, and the calls it still has in flight (a REST
// request half sent at SIGTERM) must reach its own services until they end.
func Own() grpc.DialOption {
	return grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"pick_first": {}}]}`)
}
