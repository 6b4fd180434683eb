package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/admin"
	"github.com/smimeproxy/smimeproxy/proxy/metrics"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
	"github.com/smimeproxy/smimeproxy/smime/revocation"
)

// observability is what the proxy reports to for operators: the registry
// of live sessions always, the metrics only when [admin] is on, so that a
// proxy without the admin server pays nothing for them.
type observability struct {
	registry   *proxy.Registry
	metrics    *metrics.Metrics    // nil when the admin server is off
	trust      *swappableTrust     // nil when it could not be loaded; SIGHUP swaps it
	revocation *revocation.Service // nil when it could not start
}

func newObservability(cfg *config.Config) *observability {
	obs := &observability{registry: proxy.NewRegistry()}
	if cfg.Admin.Enabled() {
		version, revision := buildVersion()
		obs.metrics = metrics.New(metrics.Options{
			Version:  version,
			Revision: revision,
			Sessions: obs.registry,
		})
	}
	return obs
}

// pipelineObserver is pipeline.Options.Observer: nil when off.
func (o *observability) pipelineObserver() func(pipeline.Event) {
	if o.metrics == nil {
		return nil
	}
	return o.metrics.ObserveEvent
}

// upstreamObserver is imapproxy.Options.ObserveUpstream: nil when off.
func (o *observability) upstreamObserver() func(string, string, time.Duration, error) {
	if o.metrics == nil {
		return nil
	}
	return o.metrics.ObserveUpstream
}

// startAdmin starts the admin server when [admin] is configured and
// returns the function that stops it (a no-op when it is off).
func startAdmin(cfg *config.Config, p *runningProxy, vault keystore.Vault,
	log hclog.Logger) (func(), error) {
	if !cfg.Admin.Enabled() || p.obs.metrics == nil {
		return func() {}, nil
	}
	secret, err := cfg.Admin.Token(nil)
	if err != nil {
		return nil, err
	}
	token := admin.NewToken(secret)
	clear(secret)
	tlsConfig, err := cfg.Admin.ServerTLSConfig()
	if err != nil {
		return nil, err
	}

	version, revision := buildVersion()
	srv, err := admin.New(admin.Options{
		Token:      token,
		Metrics:    p.obs.metrics,
		Sessions:   p.obs.registry,
		Vault:      vault,
		Ready:      readyChecks(cfg, p),
		Trust:      trustSource(p.obs),
		Revocation: revocationSource(p.obs),
		Version:    version,
		Revision:   revision,
		HTTPS:      tlsConfig != nil,
		Logger:     log.Named("admin"),
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen admin on %s: %w", cfg.Admin.Listen, err)
	}
	log.Info("listening", "proto", "admin", "addr", ln.Addr().String(), "https", tlsConfig != nil)
	go func() {
		if err := srv.Serve(ln, tlsConfig); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("admin server stopped", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// trustSource and revocationSource hand the dashboard what was loaded; a
// nil interface (not a nil pointer in one) makes it say "not configured".
func trustSource(obs *observability) admin.TrustSource {
	if obs.trust == nil {
		return nil
	}
	return trustAnchors{obs.trust}
}

func revocationSource(obs *observability) admin.RevocationSource {
	if obs.revocation == nil {
		return nil
	}
	return heldCRLs{obs.revocation}
}

// readyChecks: the mail listeners are bound and the mailbox server
// answers a TCP connection. (The admin server adds the vault check.)
// Dialing our own listeners would open a session and an upstream
// connection, so their check is that they were bound at start.
func readyChecks(cfg *config.Config, p *runningProxy) []admin.Check {
	checks := []admin.Check{{Name: "listeners", Run: func(context.Context) error {
		if len(p.listeners) == 0 {
			return errors.New("no mail listener is bound")
		}
		return nil
	}}}
	if cfg.IMAP.Enabled() {
		checks = append(checks, admin.DialCheck("upstream imap", cfg.IMAP.Upstream))
	}
	return checks
}

// buildVersion names the running build from what the Go toolchain
// recorded: the module version and the VCS revision, "+dirty" when the
// tree had changes.
func buildVersion() (version, revision string) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown", ""
	}
	version = info.Main.Version
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision != "" && modified {
		revision += "+dirty"
	}
	return version, revision
}
