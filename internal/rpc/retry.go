package rpc

import "sync"

// RetryBudget decides whether a failed call may be retried, the way gRPC's
// retryThrottling does: every failure spends a token, every success earns
// back a fraction of one, and retries are allowed only while more than half
// of the tokens are left. A peer that fails every call soon gets one
// attempt per call instead of several, so retries do not multiply an
// outage; once it answers again the budget refills.
type RetryBudget struct {
	mu        sync.Mutex
	tokens    float64
	maxTokens float64
	ratio     float64
}

// NewRetryBudget returns a full budget of maxTokens that earns ratio of a
// token per success (gRPC's defaults are 10 and 0.1).
func NewRetryBudget(maxTokens, ratio float64) *RetryBudget {
	return &RetryBudget{tokens: maxTokens, maxTokens: maxTokens, ratio: ratio}
}

// Failed records a failed attempt and reports whether a retry is allowed.
func (b *RetryBudget) Failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = max(b.tokens-1, 0)
	return b.tokens > b.maxTokens/2
}

// Succeeded records an attempt that got an answer.
func (b *RetryBudget) Succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.tokens+b.ratio, b.maxTokens)
}
