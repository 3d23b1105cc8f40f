// Command openapigen turns the Swagger 2.0 document protoc-gen-openapiv2
// writes from the protos and gateway/http.yaml into the OpenAPI 3.1
// document the gateway serves at /openapi.json. protoc-gen-openapiv2 is the
// stable generator that reads http.yaml; what it cannot say from the protos
// alone is added here from Motor's own sources: the bearer scheme on every
// operation the access table (internal/auth) gives to a role, the error
// model, the filter grammar, readable path parameters and the request
// examples. `make generate` runs it and `make check-generate` checks that
// the committed document is its output.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("in", "gateway/openapi/motor.swagger.json", "the Swagger 2.0 document to convert")
	out := flag.String("out", "gateway/openapi/motor.openapi.json", "where to write the OpenAPI 3.1 document")
	version := flag.String("version", "v1", "info.version of the document")
	flag.Parse()
	if err := run(*in, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(in, out, version string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("os.ReadFile: %w", err)
	}
	doc, err := Convert(src, Options{Version: version})
	if err != nil {
		return fmt.Errorf("Convert: %w", err)
	}
	if err := os.WriteFile(out, doc, 0o644); err != nil {
		return fmt.Errorf("os.WriteFile: %w", err)
	}
	return nil
}
