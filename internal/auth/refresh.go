package auth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// fileCheckInterval is how often a JWKS file is looked at for a change;
// a stat costs next to nothing.
const fileCheckInterval = time.Second

// keySource loads a JWKS document.
type keySource interface {
	load(ctx context.Context) ([]byte, error)
	String() string
}

type fileSource string

func (f fileSource) load(context.Context) ([]byte, error) {
	data, err := os.ReadFile(string(f))
	if err != nil {
		return nil, fmt.Errorf("os.ReadFile: %w", err)
	}
	return data, nil
}

func (f fileSource) String() string { return string(f) }

// version identifies the file's content well enough to notice a rewrite;
// "" when it cannot be read, which counts as a change worth a reload attempt.
func (f fileSource) version() string {
	fi, err := os.Stat(string(f))
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

type urlSource struct {
	url    string
	client *http.Client
}

func (u urlSource) load(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, fmt.Errorf("http.NewRequestWithContext: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("http.Client.Do: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u.url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u.url, err)
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("GET %s: key set larger than %d bytes", u.url, maxJWKSBytes)
	}
	return data, nil
}

func (u urlSource) String() string { return u.url }

func loadKeySet(ctx context.Context, src keySource) (*keySet, error) {
	data, err := src.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading JWKS from %s: %w", src, err)
	}
	set, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("JWKS from %s: %w", src, err)
	}
	return set, nil
}

// refetch reloads the key set for a token naming kid, at most once per
// refetchInterval. It returns the freshest set it has.
func (v *Verifier) refetch(ctx context.Context, kid string) (*keySet, error) {
	v.refetchMu.Lock()
	defer v.refetchMu.Unlock()
	// Another caller may have reloaded while this one waited.
	if set := v.keys.Load(); set.byKID[kid] != nil {
		return set, nil
	}
	now := v.now()
	if !v.lastRefetch.IsZero() && now.Sub(v.lastRefetch) < refetchInterval {
		if v.lastRefetchErr != nil {
			return nil, v.lastRefetchErr
		}
		return v.keys.Load(), nil
	}
	v.lastRefetch = now
	// The reload serves every caller waiting on the mutex, so one client
	// hanging up must not abort it.
	set, err := loadKeySet(context.WithoutCancel(ctx), v.source)
	if err != nil {
		v.lastRefetchErr = fail(ErrKeysUnavailable, "reloading the key set for an unknown kid failed: %v", err)
		return nil, v.lastRefetchErr
	}
	v.lastRefetchErr = nil
	v.keys.Store(set)
	return set, nil
}

// keepFresh reloads the key set every refresh interval until ctx is done,
// and a file also as soon as it changes, so that a key the identity
// provider withdrew stops verifying tokens without waiting for a token with
// an unknown kid. A failed reload keeps the keys already loaded (an
// identity provider that is down for a moment must not sign everybody out)
// and is logged.
func (v *Verifier) keepFresh(ctx context.Context, seen string) {
	file, isFile := v.source.(fileSource)
	check := v.refresh
	if isFile && check > fileCheckInterval {
		check = fileCheckInterval
	}
	// Every ticksPerRefresh-th tick reloads whatever happened in between.
	ticksPerRefresh := int((v.refresh + check - 1) / check)
	tick := time.NewTicker(check)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := n%ticksPerRefresh == 0
		if isFile {
			now := file.version()
			changed := now != seen
			seen = now
			if !due && !changed {
				continue
			}
		} else if !due {
			continue
		}
		v.reload(ctx)
	}
}

// reload replaces the key set with a fresh copy of the source's.
func (v *Verifier) reload(ctx context.Context) {
	v.refetchMu.Lock()
	defer v.refetchMu.Unlock()
	set, err := loadKeySet(ctx, v.source)
	if err != nil {
		if ctx.Err() == nil {
			v.logger.Warn("auth: reloading the signing keys failed; the keys loaded before stay trusted", "error", err)
		}
		return
	}
	v.keys.Store(set)
}
