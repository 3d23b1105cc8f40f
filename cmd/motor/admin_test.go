package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminAddress: the admin listener is on loopback unless told
// otherwise, the config file can move it, and the command line wins.
func TestAdminAddress(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, "deployment.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "127.0.0.1:9464"},
		{"config file", []string{"-config", file(`{"name": "uppsala", "regions": ["uppsala"], "admin": "0.0.0.0:9464"}`)}, "0.0.0.0:9464"},
		{"flag over file", []string{"-config", file(`{"name": "uppsala", "regions": ["uppsala"], "admin": "0.0.0.0:9464"}`), "-admin", "127.0.0.1:9999"}, "127.0.0.1:9999"},
		{"off", []string{"-admin", ""}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServe(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.admin != tc.want {
				t.Errorf("admin %q, want %q", c.admin, tc.want)
			}
		})
	}
	_, err := parseServe([]string{"-config", file(`{"name": "uppsala", "regions": ["uppsala"], "admin": "everywhere"}`)}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `admin: "everywhere" is not host:port`) {
		t.Errorf("bad admin address in the config file: %v", err)
	}
}
