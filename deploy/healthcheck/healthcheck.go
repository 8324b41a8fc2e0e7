// Package healthcheck probes a service's HTTP health endpoint from inside its container.
//
// The images are built FROM scratch: no shell, no curl. Docker's HEALTHCHECK runs the
// small static binary of cmd/healthcheck instead, which asks the service itself, on
// loopback, whether it is ready. The service's listen address comes from the same
// CLICKTRAIL_*_ADDR variable the service reads, so a changed port changes both.
package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// URL returns the URL to probe. target is either a full http(s) URL, used as it is, or a
// path such as /readyz, appended to addr (host:port). An empty or unspecified host
// (":8088", "0.0.0.0:8088", "[::]:8088") means the service listens on every interface,
// loopback included, and is probed on 127.0.0.1.
func URL(addr, target string) (string, error) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("invalid url %q", target)
		}
		return target, nil
	}
	if !strings.HasPrefix(target, "/") {
		return "", fmt.Errorf("invalid target %q: want a path such as /readyz or an http URL", target)
	}
	if addr == "" {
		return "", errors.New("no address to probe: set -addr or -addr-env")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + target, nil
}

// NewClient returns the client Probe is meant for: never through a proxy (the service
// is on this host), no redirects followed (a health endpoint answers itself).
func NewClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Probe GETs u and returns nil for a 2xx answer; otherwise an error that says what came
// back (the status and the first line of the body, which for /readyz holds the reason).
func Probe(ctx context.Context, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		return fmt.Errorf("probe %s: %s: %s", u, resp.Status, first)
	}
	return nil
}
