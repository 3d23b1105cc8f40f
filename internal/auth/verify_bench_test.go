package auth

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkVerify measures Verify next to the bare signature check of the
// same token by go-jose (parse and verify, nothing else), interleaved in
// one loop so that load from other processes hits both alike. It reports
// Verify's ns/op and the ratio "x-bare" (1.0 = Verify costs no more than
// the cryptography it cannot avoid).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			clk := newClock()
			key := newTestKey(b, alg, "k")
			v, err := NewVerifier(b.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: writeJWKS(b, key), Now: clk.now})
			if err != nil {
				b.Fatal(err)
			}
			tok := mint(b, key, hdrFor(key), goodClaims(clk.now()))
			pub := key.priv.Public()
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
			var bare, full time.Duration
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				jws, err := jose.ParseSigned(tok, algs)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.Verify(pub); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := v.Verify(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
				full += time.Since(t1)
				bare += t1.Sub(t0)
			}
			b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "verify-ns/op")
			b.ReportMetric(float64(full)/float64(bare), "x-bare")
		})
	}
}
