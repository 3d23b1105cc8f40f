package gateway

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
)

// The API reference at /docs: Redoc's standalone bundle (vendored, pinned
// by its SHA-256 in docs_test.go) rendering /openapi.json. It is served from
// the binary, so a deployment without internet access has its reference.

//go:embed docs/index.html docs/vendor/redoc.standalone.js
var docsFS embed.FS

// docsCSP lets the page run only the bundle of this origin. Redoc writes
// its styles into <style> elements at run time (styled-components) and
// runs its search index in a worker it starts from a blob, so those two
// are allowed; nothing else inline, nothing from another origin.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// docsHandler serves GET /docs and the bundle under /docs/vendor/.
func docsHandler() (page, vendor http.Handler, err error) {
	index, err := docsFS.ReadFile("docs/index.html")
	if err != nil {
		return nil, nil, fmt.Errorf("docsFS.ReadFile: %w", err)
	}
	sub, err := fs.Sub(docsFS, "docs")
	if err != nil {
		return nil, nil, fmt.Errorf("fs.Sub: %w", err)
	}
	files := http.StripPrefix("/docs", http.FileServerFS(sub))
	secure := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", docsCSP)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Referrer-Policy", "same-origin")
			h.ServeHTTP(w, r)
		})
	}
	page = secure(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	}))
	vendor = secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	return page, vendor, nil
}

// versioned sets the document's info.version to the build's version.
func versioned(doc []byte, version string) ([]byte, error) {
	if version == "" {
		return doc, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("json.Unmarshal: %w", err)
	}
	var info map[string]any
	if err := json.Unmarshal(top["info"], &info); err != nil {
		return nil, fmt.Errorf("json.Unmarshal info: %w", err)
	}
	info["version"] = version
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("json.Marshal: %w", err)
	}
	top["info"] = raw
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("json.Encode: %w", err)
	}
	return b.Bytes(), nil
}
