package config

import (
	"crypto/tls"
	"fmt"
)

// UpstreamTLSConfig returns the TLS settings for connecting to the upstream
// mailbox server, or nil when upstream_tls is "none". RootCAs is nil (system
// roots) unless upstream_ca_file is set. The CA file is read on each call, so
// a reloaded config picks up a renewed bundle.
func (p *Proxy) UpstreamTLSConfig() (*tls.Config, error) {
	if p.UpstreamTLS == UpstreamTLSNone {
		return nil, nil
	}
	conf := &tls.Config{
		ServerName: p.UpstreamServerName,
		MinVersion: tls.VersionTLS12,
	}
	if p.UpstreamServerName == "" {
		conf.ServerName = hostOf(p.Upstream)
	}
	if p.UpstreamCAFile != "" {
		pool, err := loadCAPool(p.UpstreamCAFile)
		if err != nil {
			return nil, fmt.Errorf("config: upstream_ca_file %q: %w", p.UpstreamCAFile, err)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// ServerTLSConfig returns the client-facing TLS settings with the [tls]
// certificate loaded, or nil when [tls] is not configured.
func (c *Config) ServerTLSConfig() (*tls.Config, error) {
	if !c.TLS.Enabled() {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("config: tls cert_file %q: %w", c.TLS.CertFile, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
	}, nil
}
