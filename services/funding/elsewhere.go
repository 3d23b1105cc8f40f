package funding

import (
	"context"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// LedgerElsewhere is the ProgrammeService of a region deployment whose
// programme ledger is the national deployment's: every call says where the
// ledger is, instead of answering from a ledger nobody reserves from.
type LedgerElsewhere struct {
	fundingv1.UnimplementedProgrammeServiceServer
	// Where names the national deployment, e.g. "national (10.0.0.5:9090)".
	Where string
}

func (l LedgerElsewhere) err() error {
	return domain.NotFound("LEDGER_ELSEWHERE", "this deployment keeps no programme ledger: programmes, allocations and their audit records are on the national deployment %s; ask its gateway", l.Where)
}

func (l LedgerElsewhere) CreateProgramme(context.Context, *fundingv1.CreateProgrammeRequest) (*fundingv1.Programme, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) GetProgramme(context.Context, *fundingv1.GetProgrammeRequest) (*fundingv1.Programme, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) ListProgrammes(context.Context, *fundingv1.ListProgrammesRequest) (*fundingv1.ListProgrammesResponse, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) ListAllocations(context.Context, *fundingv1.ListAllocationsRequest) (*fundingv1.ListAllocationsResponse, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) ReserveFunds(context.Context, *fundingv1.ReserveFundsRequest) (*fundingv1.Allocation, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) RecordPayment(context.Context, *fundingv1.RecordPaymentRequest) (*fundingv1.RecordPaymentResponse, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) ReleaseFunds(context.Context, *fundingv1.ReleaseFundsRequest) (*fundingv1.Allocation, error) {
	return nil, l.err()
}

func (l LedgerElsewhere) ListLedgerEvents(context.Context, *fundingv1.ListLedgerEventsRequest) (*fundingv1.ListLedgerEventsResponse, error) {
	return nil, l.err()
}
