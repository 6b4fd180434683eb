package revocation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// newHTTPClient follows at most maxRedirects redirects, all to http://.
func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" {
				return fmt.Errorf("redirect to %s: only http:// is used", req.URL.Scheme)
			}
			return nil
		},
	}
}

// httpURLs keeps the http:// URLs (RFC 5280 section 4.2.1.13: LDAP and
// others are not fetched).
func httpURLs(urls []string) []string {
	var out []string
	for _, u := range urls {
		p, err := url.Parse(u)
		if err == nil && strings.EqualFold(p.Scheme, "http") && p.Host != "" {
			out = append(out, u)
		}
	}
	return out
}

// fetch does one bounded HTTP request. body nil means GET. The request
// outlives the caller's cancellation (other callers may wait for it, see
// flightGroup) but not the configured time-out.
func (s *Service) fetch(ctx context.Context, u string, body []byte,
	limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	req, err := newRequest(ctx, u, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, u, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: HTTP %s", ErrUnreachable, u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrTooLarge, u,
			resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, u, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrTooLarge, u, limit)
	}
	return data, nil
}

func newRequest(ctx context.Context, u string, body []byte) (*http.Request, error) {
	if body == nil {
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	}
	// RFC 6960 appendix A.1: POST with the DER request.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	return req, err
}

// flightGroup runs one fetch per key at a time; callers that arrive while it
// runs wait for its result instead of asking the network again. A caller
// whose context ends stops waiting; the fetch goes on for the others and
// fills the cache.
type flightGroup struct {
	mu      sync.Mutex
	calls   map[string]*flightCall
	running sync.WaitGroup // fetches still under way, for Service.Close
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

var errFlightPanic = errors.New("revocation: fetch panicked")

func (g *flightGroup) do(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flightCall{}
	}
	c, ok := g.calls[key]
	if !ok {
		c = &flightCall{done: make(chan struct{}), err: errFlightPanic}
		g.calls[key] = c
		g.running.Add(1)
		go g.run(key, c, fn)
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, ctx.Err())
	}
}

func (g *flightGroup) run(key string, c *flightCall, fn func() (any, error)) {
	defer g.running.Done()
	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
}
