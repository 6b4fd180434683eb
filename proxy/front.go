package proxy

import (
	"crypto/tls"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// FrontOptions are what every protocol front (IMAP, POP3) takes.
// Upstream, Pipeline and Vault are required.
type FrontOptions struct {
	// Upstream is the mailbox server every session logs in to.
	Upstream Upstream
	// TLSConfig is the client-facing certificate. Nil disables STARTTLS
	// (IMAP) and STLS (POP3); ServeTLS needs it.
	TLSConfig *tls.Config
	// InsecureAuth allows passwords (IMAP LOGIN and AUTHENTICATE; POP3
	// USER/PASS, APOP and AUTH) on connections without TLS. Off, such
	// connections must upgrade first: IMAP advertises LOGINDISABLED
	// (RFC 3501 section 6.2.3), POP3 leaves USER and SASL out of CAPA
	// (RFC 2595 section 4).
	InsecureAuth bool
	// Pipeline decrypts, verifies and annotates messages.
	Pipeline *pipeline.Pipeline
	// Vault holds the users' private keys.
	Vault keystore.Vault
	// Logger receives session logs; nil discards them.
	Logger hclog.Logger
	// Registry, if set, lists live sessions for operators.
	Registry *Registry
	// MaxSessions caps concurrent client sessions; zero means no cap.
	MaxSessions int
	// ObserveUpstream, if set, learns how long each upstream command took
	// until it completed, with its error, if any: proto is "imap" or
	// "pop3", cmd the command name, "CONNECT" for a new session's
	// connection, greeting and TLS upgrade. It runs on the session's
	// goroutine and must not block (metrics use it).
	ObserveUpstream func(proto, cmd string, d time.Duration, err error)
}
