package gateway

import "testing"

func TestIncomingMetadata(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Accept-Language", "grpcgateway-Accept-Language", true},
		{"accept-language", "grpcgateway-Accept-Language", true},
		{"Grpc-Metadata-Trace-Note", "Trace-Note", true},
		{"Grpc-Metadata-Grpcgateway-Host", "", false}, // the reserved namespace, as the default refuses it
		{"Authorization", "", false},                  // goes as authorization, not a second time
		{"User-Agent", "", false},
		{"Accept", "", false},
		{"X-Request-Id", "", false},
	} {
		got, ok := incomingMetadata(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
