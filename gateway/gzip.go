package gateway

import (
	"bytes"
	"compress/gzip"
	"mime"
	"net/http"
	"strings"
)

// gzipMinBytes is the smallest response worth compressing.
const gzipMinBytes = 1 << 10

// compressGzip compresses responses over gzipMinBytes for callers that
// accept gzip, except content that is compressed already. Responses vary on
// Accept-Encoding.
func compressGzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w, code: http.StatusOK}
		defer gw.finish()
		next.ServeHTTP(gw, r)
	})
}

func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

// compressed says whether a content type is compressed already.
func compressed(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "image/") && mt != "image/svg+xml", strings.HasPrefix(mt, "video/"), strings.HasPrefix(mt, "audio/"):
		return true
	}
	switch mt {
	case "application/gzip", "application/zip", "application/x-gzip", "application/zstd", "application/pdf",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return true
	}
	return false
}

// gzipWriter holds the first gzipMinBytes back to decide.
type gzipWriter struct {
	http.ResponseWriter
	code    int
	headed  bool // WriteHeader called by the handler
	decided bool
	gz      *gzip.Writer
	buf     bytes.Buffer
}

func (g *gzipWriter) WriteHeader(code int) {
	if g.headed || g.decided {
		return
	}
	g.headed, g.code = true, code
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		g.plain()
	}
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.decided {
		h := g.Header()
		if h.Get("Content-Encoding") != "" || compressed(h.Get("Content-Type")) {
			g.plain()
		} else {
			g.buf.Write(p)
			if g.buf.Len() >= gzipMinBytes {
				g.compress()
			}
			return len(p), nil
		}
	}
	if g.gz != nil {
		return g.gz.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

func (g *gzipWriter) plain() {
	g.decided = true
	g.ResponseWriter.WriteHeader(g.code)
	if g.buf.Len() > 0 {
		_, _ = g.ResponseWriter.Write(g.buf.Bytes())
		g.buf.Reset()
	}
}

func (g *gzipWriter) compress() {
	g.decided = true
	h := g.Header()
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	g.ResponseWriter.WriteHeader(g.code)
	g.gz = gzip.NewWriter(g.ResponseWriter)
	_, _ = g.gz.Write(g.buf.Bytes())
	g.buf.Reset()
}

// Flush sends what is held back: a stream that flushes is compressed from
// its start.
func (g *gzipWriter) Flush() {
	if !g.decided {
		if g.Header().Get("Content-Encoding") != "" || compressed(g.Header().Get("Content-Type")) {
			g.plain()
		} else {
			g.compress()
		}
	}
	if g.gz != nil {
		_ = g.gz.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) finish() {
	if !g.decided {
		g.plain()
	}
	if g.gz != nil {
		_ = g.gz.Close()
	}
}
