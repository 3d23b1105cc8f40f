package main

import (
	"slices"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/innovationsmotorer/motor/internal/rpc"
)

// servingAll reports SERVING over grpc.health.v1 for every service
// registered on srv (health and reflection aside) and returns their names,
// so a probe or a client asking after any service it calls (the programme
// ledger as much as the subprojects) gets an answer rather than NotFound.
func servingAll(srv *rpc.Server) []string {
	var names []string
	for name := range srv.GRPC.GetServiceInfo() {
		if name == healthpb.Health_ServiceDesc.ServiceName || isReflection(name) {
			continue
		}
		names = append(names, name)
		srv.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	slices.Sort(names)
	return names
}

func isReflection(name string) bool {
	return name == "grpc.reflection.v1.ServerReflection" || name == "grpc.reflection.v1alpha.ServerReflection"
}
