package reports_test

import (
	"testing"

	"github.com/innovationsmotorer/motor/internal/testenv/deployment"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
)

// env is a region deployment with the reports service (see package
// deployment).
type env struct{ *deployment.Env }

func newEnv(t *testing.T, b stack.Backend) *env { return &env{deployment.Start(t, b)} }

func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}
