package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/imapproxy"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
	"github.com/smimeproxy/smimeproxy/proxy/pop3proxy"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

func init() {
	register("serve", command{
		summary: "run the proxy with a config file",
		run:     runServe,
	})
}

func runServe(args []string, _ io.Reader, _, stderr io.Writer) int {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "smimeproxy.toml", "config `file`")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	for _, warning := range cfg.Warnings() {
		log.Warn("insecure configuration", "problem", warning)
	}

	vault, err := openVault(cfg)
	if err != nil {
		log.Error("cannot open the key vault", "error", err)
		return 1
	}
	p, err := startProxy(cfg, vault, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	stopAdmin, err := startAdmin(cfg, p, vault, log)
	if err != nil {
		log.Error("cannot start the admin server", "error", err)
		p.close()
		return 1
	}
	waitForShutdown(p, log)
	stopAdmin()
	return 0
}

// openVault opens the file vault with the master key from its file or
// environment variable.
func openVault(cfg *config.Config) (*keystore.FileVault, error) {
	var (
		masterKey []byte
		err       error
	)
	if cfg.Keystore.MasterKeyEnv != "" {
		masterKey, err = keystore.MasterKeyFromEnv(cfg.Keystore.MasterKeyEnv)
	} else {
		masterKey, err = keystore.LoadMasterKey(cfg.Keystore.MasterKeyFile)
	}
	if err != nil {
		return nil, err
	}
	return keystore.OpenFileVault(cfg.Keystore.Path, masterKey)
}

// runningProxy is a started proxy: its servers and the listeners they
// accept on.
type runningProxy struct {
	cfg       *config.Config // as loaded; replaced by a successful reload
	cert      *certHolder    // nil without client-facing TLS
	imap      *imapproxy.Server
	pop3      *pop3proxy.Server // nil when [pop3] has no listener
	obs       *observability
	listeners []net.Listener
	addrs     []string
}

func newPipeline(cfg *config.Config, obs *observability, log hclog.Logger) *pipeline.Pipeline {
	return pipeline.New(withVerification(cfg, pipeline.Options{
		AuthServID: cfg.Status.AuthservID,
		Limits:     cms.Limits{MaxInputBytes: int(cfg.SMIME.MaxMessageBytes)},
		CacheBytes: cfg.Cache.DecryptedMaxBytes,
		Logger:     log,
		Observer:   obs.pipelineObserver(),
	}, obs, log))
}

func startProxy(cfg *config.Config, vault keystore.Vault, log hclog.Logger) (*runningProxy, error) {
	serverTLS, err := cfg.ServerTLSConfig()
	if err != nil {
		return nil, err
	}
	cert := useCertHolder(serverTLS)

	obs := newObservability(cfg)
	pipe := newPipeline(cfg, obs, log) // one cache and audit trail for IMAP and POP3
	front := func(section *config.Proxy) (proxy.FrontOptions, error) {
		return frontOptions(section, serverTLS, pipe, vault, obs, log)
	}
	imapOptions, err := front(&cfg.IMAP)
	if err != nil {
		return nil, err
	}
	imapServer := imapproxy.New(imapproxy.Options{FrontOptions: imapOptions})
	p := &runningProxy{cfg: cfg, cert: cert, imap: imapServer, obs: obs}

	type listener struct {
		addr    string
		serve   func(net.Listener) error
		kind    string
		section *config.Proxy
	}
	listen := []listener{
		{cfg.IMAP.Listen, imapServer.Serve, "imap", &cfg.IMAP},
		{cfg.IMAP.TLSListen, imapServer.ServeTLS, "imaps", &cfg.IMAP},
	}
	if cfg.POP3.Enabled() {
		pop3Options, err := front(&cfg.POP3)
		if err != nil {
			p.close()
			return nil, err
		}
		pop3Server := pop3proxy.New(pop3proxy.Options{FrontOptions: pop3Options})
		p.pop3 = pop3Server
		listen = append(listen,
			listener{cfg.POP3.Listen, pop3Server.Serve, "pop3", &cfg.POP3},
			listener{cfg.POP3.TLSListen, pop3Server.ServeTLS, "pop3s", &cfg.POP3})
	}
	for _, l := range listen {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("listen %s on %s: %w", l.kind, l.addr, err)
		}
		p.listeners = append(p.listeners, ln)
		p.addrs = append(p.addrs, ln.Addr().String())
		log.Info("listening", "proto", l.kind, "addr", ln.Addr().String(),
			"upstream", l.section.Upstream, "upstream_tls", l.section.UpstreamTLS)
		go func(serve func(net.Listener) error, ln net.Listener, kind string) {
			if err := serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Error("listener stopped", "proto", kind, "error", err)
			}
		}(l.serve, ln, l.kind)
	}
	return p, nil
}

// frontOptions are the settings of one [imap] or [pop3] section. Both
// fronts share the pipeline (and so the decrypted-message cache), the
// vault, the session registry and the metrics.
func frontOptions(section *config.Proxy, serverTLS *tls.Config, pipe *pipeline.Pipeline,
	vault keystore.Vault, obs *observability, log hclog.Logger) (proxy.FrontOptions, error) {
	upstreamTLS, err := section.UpstreamTLSConfig()
	if err != nil {
		return proxy.FrontOptions{}, err
	}
	return proxy.FrontOptions{
		Upstream: proxy.Upstream{
			Address:   section.Upstream,
			TLS:       proxy.UpstreamTLS(section.UpstreamTLS),
			TLSConfig: upstreamTLS,
			Timeout:   section.UpstreamTimeout,
		},
		TLSConfig:       serverTLS,
		InsecureAuth:    section.AllowInsecureAuth,
		Pipeline:        pipe,
		Vault:           vault,
		Logger:          log,
		Registry:        obs.registry,
		MaxSessions:     section.MaxSessions,
		ObserveUpstream: obs.upstreamObserver(),
	}, nil
}

func (p *runningProxy) close() {
	for _, ln := range p.listeners {
		ln.Close()
	}
	p.imap.Close()
	if p.pop3 != nil {
		p.pop3.Close()
	}
}

// sessions counts the live client sessions of both fronts.
func (p *runningProxy) sessions() int {
	n := p.imap.Sessions()
	if p.pop3 != nil {
		n += p.pop3.Sessions()
	}
	return n
}

// waitForShutdown blocks until SIGINT or SIGTERM, then tells clients the
// proxy is going away and closes. A second signal exits at once. SIGHUP
// reloads the config (see reload.go).
func waitForShutdown(p *runningProxy, log hclog.Logger) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	for sig := range signals {
		if sig == syscall.SIGHUP {
			p.reload(log)
			continue
		}
		log.Info("shutting down", "signal", sig.String(), "sessions", p.sessions())
		break
	}

	done := make(chan struct{})
	go func() {
		pop3Done := make(chan struct{})
		go func() {
			if p.pop3 != nil {
				p.pop3.Shutdown("smimeproxy is shutting down")
			}
			close(pop3Done)
		}()
		p.imap.Shutdown("smimeproxy is shutting down")
		<-pop3Done
		for _, ln := range p.listeners {
			ln.Close()
		}
		close(done)
	}()
	select {
	case <-done:
	case sig := <-signals:
		log.Warn("second signal: exiting now", "signal", sig.String())
		os.Exit(1)
	case <-time.After(10 * time.Second):
		log.Warn("shutdown took too long: exiting")
	}
}
