package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Conditional requests on the resources' etag field: a JSON response whose
// top-level object carries "etag" gets it as its ETag header; a GET whose
// If-None-Match names it is answered 304 with no body; If-Match on a PATCH
// or a custom method (POST …:verb) is the etag of the call (put into the
// body when the body has none), and the service's ABORTED for a stale etag
// is then answered 412 Precondition Failed.

type ifMatchKey struct{}

// ifMatchUsed reports whether the call's etag came from If-Match.
func ifMatchUsed(ctx context.Context) bool { return ctx.Value(ifMatchKey{}) != nil }

func conditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tag := r.Header.Get("If-Match"); tag != "" && takesIfMatch(r) {
			if body, ok := withEtag(r, unquote(tag)); ok {
				r = r.WithContext(context.WithValue(r.Context(), ifMatchKey{}, true))
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
				r.Header.Set("Content-Length", strconv.Itoa(len(body)))
			}
		}
		bw := &etagWriter{ResponseWriter: w}
		next.ServeHTTP(bw, r)
		if !bw.buffering {
			return
		}
		var top struct {
			Etag string `json:"etag"`
		}
		if bw.code/100 == 2 && json.Unmarshal(bw.buf.Bytes(), &top) == nil && top.Etag != "" {
			tag := strconv.Quote(top.Etag)
			w.Header().Set("ETag", tag)
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && noneMatch(r.Header.Get("If-None-Match"), top.Etag) {
				w.Header().Del("Content-Length")
				w.Header().Del("Content-Type")
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.WriteHeader(bw.code)
		_, _ = w.Write(bw.buf.Bytes())
	})
}

// takesIfMatch: PATCH, and POST to a custom method (the last path segment
// has a ":verb").
func takesIfMatch(r *http.Request) bool {
	if r.Method == http.MethodPatch {
		return true
	}
	if r.Method != http.MethodPost {
		return false
	}
	last := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	return strings.Contains(last, ":")
}

// withEtag reads the request body (bounded; a larger one is left for the
// body limit to refuse) and returns it with etag set when it has none. A
// body that is not a JSON object is left alone for the decoder to answer.
func withEtag(r *http.Request, tag string) ([]byte, bool) {
	var raw []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil || len(b) > MaxBodyBytes {
			return nil, false
		}
		raw = b
	}
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			return nil, false
		}
	}
	if _, has := fields["etag"]; has {
		return raw, true
	}
	fields["etag"], _ = json.Marshal(tag)
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, false
	}
	return out, true
}

// unquote takes an entity tag as sent ("abc", W/"abc" or bare abc) to the
// etag field's value.
func unquote(tag string) string {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	if s, err := strconv.Unquote(tag); err == nil {
		return s
	}
	return tag
}

// noneMatch reports whether an If-None-Match list names etag (or is *).
func noneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || unquote(t) == etag {
			return true
		}
	}
	return false
}

// etagWriter holds back a JSON response to read its etag; anything else
// passes straight through.
type etagWriter struct {
	http.ResponseWriter
	code      int
	buffering bool
	passing   bool
	buf       bytes.Buffer
}

func (e *etagWriter) WriteHeader(code int) {
	if e.buffering || e.passing {
		return
	}
	mt, _, _ := mime.ParseMediaType(e.Header().Get("Content-Type"))
	if mt == "application/json" && code/100 == 2 {
		e.buffering, e.code = true, code
		return
	}
	e.passing = true
	e.ResponseWriter.WriteHeader(code)
}

func (e *etagWriter) Write(p []byte) (int, error) {
	if !e.buffering && !e.passing {
		e.WriteHeader(http.StatusOK)
	}
	if e.buffering {
		return e.buf.Write(p)
	}
	return e.ResponseWriter.Write(p)
}

func (e *etagWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
