package needs

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// The status machine of docs/architecture.md ("Domain rules"): one step forward along the process, or
// CLOSED (with a reason) from any status that is not closed yet.
func nextStatus(from needsv1.NeedStatus) needsv1.NeedStatus {
	switch from {
	case needsv1.NeedStatus_NEED_STATUS_IDENTIFIED:
		return needsv1.NeedStatus_NEED_STATUS_VALIDATED
	case needsv1.NeedStatus_NEED_STATUS_VALIDATED:
		return needsv1.NeedStatus_NEED_STATUS_PRIORITISED
	case needsv1.NeedStatus_NEED_STATUS_PRIORITISED:
		return needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH
	case needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH:
		return needsv1.NeedStatus_NEED_STATUS_MATCHED
	case needsv1.NeedStatus_NEED_STATUS_MATCHED:
		return needsv1.NeedStatus_NEED_STATUS_ADDRESSED
	}
	return needsv1.NeedStatus_NEED_STATUS_UNSPECIFIED
}

// allowedMoves lists where a need at from may go.
func allowedMoves(from needsv1.NeedStatus) []needsv1.NeedStatus {
	if from == needsv1.NeedStatus_NEED_STATUS_CLOSED {
		return nil
	}
	var out []needsv1.NeedStatus
	if next := nextStatus(from); next != needsv1.NeedStatus_NEED_STATUS_UNSPECIFIED {
		out = append(out, next)
	}
	return append(out, needsv1.NeedStatus_NEED_STATUS_CLOSED)
}

// checkMove says whether r's need may move to to, and if not, what is
// missing: the move itself, or a prerequisite of the target status.
func checkMove(name needName, r *record, to needsv1.NeedStatus, reason string) error {
	from := r.Msg.GetStatus()
	allowed := allowedMoves(from)
	if !slices.Contains(allowed, to) {
		if len(allowed) == 0 {
			return precondition("NEED_CLOSED", "STATUS", name.String(),
				"need %s is closed; a closed need does not move", name)
		}
		return precondition("TRANSITION_NOT_ALLOWED", "STATUS", name.String(),
			"a need at %s can move to %s, not to %s", from, joinStatuses(allowed), to)
	}
	switch to {
	case needsv1.NeedStatus_NEED_STATUS_PRIORITISED:
		if r.Count(countScreenings) == 0 {
			return precondition("SCREENING_REQUIRED", "SCREENING", name.String(),
				"need %s has no screening: record a screening round (POST …/screenings) before moving it to %s", name, to)
		}
	case needsv1.NeedStatus_NEED_STATUS_MATCHED:
		if len(r.Msg.GetLinks()) == 0 {
			return precondition("LINK_REQUIRED", "LINK", name.String(),
				"need %s has no link: link an idea, offer or subproject (:link) before moving it to %s", name, to)
		}
	case needsv1.NeedStatus_NEED_STATUS_CLOSED:
		if strings.TrimSpace(reason) == "" {
			return precondition("REASON_REQUIRED", "REASON", name.String(),
				"a reason is required to move need %s to %s", name, to)
		}
	}
	return nil
}

// closedError refuses changes to a closed need.
func closedError(name needName, what string) error {
	return precondition("NEED_CLOSED", "STATUS", name.String(), "need %s is closed: %s", name, what)
}

func joinStatuses(list []needsv1.NeedStatus) string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.String()
	}
	return strings.Join(names, " or ")
}

// precondition is FAILED_PRECONDITION with an ErrorInfo and a
// PreconditionFailure naming what is missing (kind) on which need (subject),
// so a portal can point at the missing step.
func precondition(reason, kind, subject, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	st := status.New(codes.FailedPrecondition, msg)
	withDetails, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: string(domain)},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{
			{Type: kind, Subject: subject, Description: msg},
		}},
	)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}
