package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the path of the Chromium (or Chrome) the browser tests
// drive. Where none is installed the test skips with how to install it,
// unless MOTOR_REQUIRE_BROWSER=1 (CI), then it fails.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MOTOR_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found and MOTOR_REQUIRE_BROWSER=1: install it (apt-get install -y chromium)")
	}
	t.Skip("chromium not found: the browser tests need it (apt-get install -y chromium); set MOTOR_REQUIRE_BROWSER=1 to fail instead")
	return ""
}
