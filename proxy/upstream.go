package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// UpstreamTLS says how the proxy protects its connection to the mailbox
// server.
type UpstreamTLS string

const (
	// UpstreamTLSNone speaks in the clear; only sensible on loopback.
	UpstreamTLSNone UpstreamTLS = "none"
	// UpstreamTLSStartTLS connects in the clear and upgrades with the
	// protocol's own command (IMAP STARTTLS, RFC 3501 section 6.2.1; POP3
	// STLS, RFC 2595 section 4) before any credentials are sent.
	UpstreamTLSStartTLS UpstreamTLS = "starttls"
	// UpstreamTLSImplicit wraps the connection in TLS from the first byte
	// (RFC 8314).
	UpstreamTLSImplicit UpstreamTLS = "implicit"
)

// ErrUpstreamUnavailable reports that the mailbox server could not be
// reached. Clients see a short "try again later" text; the log gets the cause.
var ErrUpstreamUnavailable = errors.New("proxy: upstream unavailable")

// Upstream says where and how to reach the mailbox server.
type Upstream struct {
	// Address is host:port.
	Address string
	// TLS selects the transport protection.
	TLS UpstreamTLS
	// TLSConfig verifies the server; nil means the system roots and the
	// host part of Address as the server name.
	TLSConfig *tls.Config
	// Timeout bounds the dial and the TLS handshake; zero means 30 seconds.
	Timeout time.Duration
}

func (u Upstream) timeout() time.Duration {
	if u.Timeout <= 0 {
		return 30 * time.Second
	}
	return u.Timeout
}

// ClientTLSConfig returns the TLS configuration to use for STARTTLS or
// implicit TLS, with a server name filled in from Address when the
// configuration has none.
func (u Upstream) ClientTLSConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if u.TLSConfig != nil {
		cfg = u.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(u.Address); err == nil {
			cfg.ServerName = host
		}
	}
	return cfg
}

// Dial opens the transport to the mailbox server. For implicit TLS the
// handshake is complete when Dial returns; for STARTTLS the caller upgrades
// after the protocol greeting.
func (u Upstream) Dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, u.timeout())
	defer cancel()

	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", u.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrUpstreamUnavailable, u.Address, err)
	}
	if u.TLS != UpstreamTLSImplicit {
		return conn, nil
	}

	tlsConn := tls.Client(conn, u.ClientTLSConfig())
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: TLS handshake with %s: %w", ErrUpstreamUnavailable, u.Address, err)
	}
	return tlsConn, nil
}
