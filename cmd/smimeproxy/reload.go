package main

import (
	"crypto/tls"
	"crypto/x509"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/smime/trust"
)

// A SIGHUP reloads the config file. What a running proxy can take over
// without dropping sessions is applied: the log level, the client-facing
// certificate and the trust store. Settings that need new listeners,
// upstream connections or caches are named in a warning and take effect
// at the next start. A file with problems is reported and the running
// config stays.

// swappableTrust is the trust store the pipeline verifies against; a
// reload replaces the store inside it. Chains verified before a reload
// stay cached by the verifier for at most five minutes.
type swappableTrust struct {
	store atomic.Pointer[trust.Store]
}

func (s *swappableTrust) Verify(leaf *x509.Certificate, extra []*x509.Certificate,
	at time.Time) ([][]*x509.Certificate, error) {
	return s.store.Load().Verify(leaf, extra, at)
}

// certHolder serves the current client-facing certificate to new TLS
// handshakes.
type certHolder struct {
	cert atomic.Pointer[tls.Certificate]
}

// useCertHolder moves the certificate of cfg into a holder that a reload
// can update; nil when there is no client-facing TLS.
func useCertHolder(cfg *tls.Config) *certHolder {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil
	}
	h := &certHolder{}
	h.cert.Store(&cfg.Certificates[0])
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return h.cert.Load(), nil
	}
	return h
}

func (p *runningProxy) reload(log hclog.Logger) {
	if p.cfg == nil || p.cfg.Path == "" {
		log.Warn("SIGHUP received: this proxy was not started from a config file; nothing to reload")
		return
	}
	next, err := config.Load(p.cfg.Path)
	if err != nil {
		log.Error("config reload failed; the running config stays", "file", p.cfg.Path, "error", err)
		return
	}
	for _, warning := range next.Warnings() {
		log.Warn("insecure configuration", "problem", warning)
	}
	if level, err := config.ParseLogLevel(next.Log.Level); err == nil {
		log.SetLevel(level)
	}
	p.reloadCertificate(next, log)
	p.reloadTrust(next, log)
	for _, section := range sectionsNeedingRestart(p.cfg, next) {
		log.Warn("changed settings take effect at the next start", "section", section)
	}
	p.cfg = next
	log.Info("config reloaded", "file", next.Path)
}

func (p *runningProxy) reloadCertificate(next *config.Config, log hclog.Logger) {
	if p.cert == nil || !next.TLS.Enabled() {
		return
	}
	tlsConfig, err := next.ServerTLSConfig()
	if err != nil {
		log.Error("certificate reload failed; the running certificate stays", "error", err)
		return
	}
	p.cert.cert.Store(&tlsConfig.Certificates[0])
}

func (p *runningProxy) reloadTrust(next *config.Config, log hclog.Logger) {
	if p.obs.trust == nil {
		return
	}
	store, err := loadTrustStore(next)
	if err != nil {
		log.Error("trust store reload failed; the running trust store stays", "error", err)
		return
	}
	p.obs.trust.store.Store(store)
}

// sectionsNeedingRestart names the sections whose changes a reload does
// not apply.
func sectionsNeedingRestart(old, next *config.Config) []string {
	pairs := []struct {
		name      string
		old, next any
	}{
		{"imap", old.IMAP, next.IMAP},
		{"pop3", old.POP3, next.POP3},
		{"keystore", old.Keystore, next.Keystore},
		{"log.format", old.Log.Format, next.Log.Format},
		{"status", old.Status, next.Status},
		{"cache", old.Cache, next.Cache},
		{"smime", old.SMIME, next.SMIME},
		{"revocation", old.Revocation, next.Revocation},
		{"admin", old.Admin, next.Admin},
	}
	var changed []string
	for _, p := range pairs {
		if !reflect.DeepEqual(p.old, p.next) {
			changed = append(changed, p.name)
		}
	}
	return changed
}
