package gateway

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// fundingRoutes registers both halves of the funding service: the region's
// subprojects and the national programmes. The ledger's reserve, payment
// and release calls have no REST route; regions make them over gRPC.
func fundingRoutes(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := fundingv1.RegisterSubprojectServiceHandler(ctx, mux, conn); err != nil {
		return fmt.Errorf("fundingv1.RegisterSubprojectServiceHandler: %w", err)
	}
	if err := fundingv1.RegisterProgrammeServiceHandler(ctx, mux, conn); err != nil {
		return fmt.Errorf("fundingv1.RegisterProgrammeServiceHandler: %w", err)
	}
	return nil
}
