// Package admin serves smimeproxy's admin web interface: a dashboard for
// operators, the JSON API it reads, Prometheus metrics and health checks.
//
// Its one job is HTTP: routing, authentication and presentation. The
// figures come from package metrics, the live sessions from the proxy's
// Registry, the certificates from the key vault and from the optional
// trust and revocation sources.
//
// Authentication is one shared token (RFC 6750 bearer token for API
// clients and Prometheus; a login form that sets a session cookie for
// browsers, RFC 6265 with HttpOnly, SameSite=Strict and, under HTTPS,
// Secure). Tokens are compared in constant time, and failed attempts are
// rate-limited per client address. Only /healthz, /readyz, the login page
// and its stylesheet are served without the token; nothing else reveals
// whether it exists.
//
// Every asset is embedded in the binary; the pages load nothing from any
// other host (the Content-Security-Policy says so too).
package admin
