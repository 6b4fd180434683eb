package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// KeySource hands out the private keys of one user, current and older. A
// KeySource is bound to the authenticated user of one session, so the
// pipeline cannot ask for anyone else's keys.
type KeySource interface {
	Keys(ctx context.Context) ([]smime.Key, error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context) ([]smime.Key, error)

// Keys calls f.
func (f KeySourceFunc) Keys(ctx context.Context) ([]smime.Key, error) { return f(ctx) }

// MessageRef names a message for the cache and the audit log. An IMAP
// message is (User, Mailbox, UIDValidity, UID); a POP3 message is (User,
// POP3UIDL). A ref without User, or with neither a UID nor a UIDL, is
// never cached.
type MessageRef struct {
	// KeySet names the user's keys at the time (proxy.UserKeys.KeySetID):
	// a result cached under one key set is not served under another.
	KeySet      string
	User        string
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	POP3UIDL    string
}

// Output is the client's view of one message. Outputs may come from the
// cache and be shared between sessions of the same user: treat them, and
// Message, as read-only.
type Output struct {
	// Message is what the client sees: the original bytes when Changed is
	// false, else a new buffer with CRLF line endings in the parts we wrote.
	Message []byte
	Changed bool
	// Decrypt is the decryption result; nil when the message is not an
	// S/MIME envelope. Its Inner field is always nil here: the plaintext
	// is in Message, and keeping it twice would double the cache's memory.
	Decrypt *smime.DecryptResult
	// Signed lists the signed layers that were verified, outermost first;
	// nil for a message without signature. Their Inner fields are nil.
	Signed []smime.SignedEntity
	// Attachments lists the envelopes found in message/rfc822 parts of a
	// multipart message and opened as that part, in document order.
	Attachments []Attachment
}

// Size is the length of the message the client sees, as IMAP RFC822.SIZE
// and POP3 LIST report it.
func (o *Output) Size() int { return len(o.Message) }

// String describes the output without its content.
func (o *Output) String() string {
	if o.Decrypt == nil {
		return fmt.Sprintf("output (%d bytes, changed=%t)", len(o.Message), o.Changed)
	}
	return fmt.Sprintf("output (%d bytes, %s)", len(o.Message), o.Decrypt.Outcome)
}

// Options configure a Pipeline. The zero value works: no cache, no audit
// log, cms default limits, no Authentication-Results filtering.
type Options struct {
	// AuthServID is our authserv-id (RFC 8601 section 2.2). Incoming
	// Authentication-Results fields carrying it are removed as forged.
	// Empty: none are removed.
	AuthServID string
	// Limits bound the CMS work per message; zero fields take
	// cms.DefaultLimits. MaxInputBytes is also the largest encrypted
	// body decrypted (larger ones get reason=too-large).
	Limits cms.Limits
	// CacheBytes bounds the in-memory cache of transformed messages, in
	// bytes of message data. 0 disables the cache.
	CacheBytes int64
	// Logger receives the audit events (named "audit") and internal
	// errors. Nil: nothing is logged.
	Logger hclog.Logger
	// Observer, if set, is called for every audit event, on the goroutine
	// of the session that caused it; it must be fast and must not block
	// (the metrics and the dashboard's recent-events list use it).
	Observer func(Event)
	// Now is the clock for durations and for certificate validity.
	// Nil: time.Now.
	Now func() time.Time

	// Trust builds signer chains to the configured roots (smime/trust).
	// Nil: no root is trusted, and good signatures are "neutral".
	Trust smime.TrustStore
	// Revocation checks signer chains for revocation (smime/revocation,
	// adapted with smime.RevocationFunc). Nil: not checked.
	Revocation smime.RevocationChecker
	// VerifyPolicy holds the algorithm and fail-open choices
	// ([smime] allow_sha1, [revocation] fail_open).
	VerifyPolicy smime.VerifyPolicy
	// SubjectTag prefixes the Subject with "[signed]", "[signed:
	// INVALID]" or "[decrypted]" ([status] subject_tag).
	SubjectTag bool
	// MaxLayers bounds the S/MIME layers opened in one message
	// ([smime] max_nesting_depth). 0: 8.
	MaxLayers int
}

// Pipeline transforms messages for IMAP and POP3 sessions. It is safe for
// concurrent use; one Pipeline serves every session of a process.
type Pipeline struct {
	opts     Options
	verifier *smime.Verifier
	log      hclog.Logger
	audit    hclog.Logger
	cache    *cache
	// onPanic, when set (by tests), is told about recovered panics.
	onPanic func(v any)
}

// New makes a Pipeline.
func New(opts Options) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLayers <= 0 {
		opts.MaxLayers = 8
	}
	return &Pipeline{
		opts: opts,
		verifier: &smime.Verifier{Trust: opts.Trust, Revocation: opts.Revocation,
			Policy: opts.VerifyPolicy, Limits: opts.Limits, Now: opts.Now},
		log:   opts.Logger,
		audit: opts.Logger.Named("audit"),
		cache: newCache(opts.CacheBytes),
	}
}

// Cached returns the cached output for ref, if there is one. Listings
// (POP3 LIST, IMAP RFC822.SIZE) use it to report the transformed size
// without fetching. Only changed messages are cached: a miss means "not
// known", and for a plain message the upstream size is the right one.
func (p *Pipeline) Cached(ref MessageRef) (*Output, bool) {
	key, ok := cacheKeyFor(ref)
	if !ok {
		return nil, false
	}
	return p.cache.get(key)
}

// Transform builds the client's view of the raw message raw, which the
// pipeline does not modify or keep.
//
// A message that is neither an S/MIME envelope nor carries forged status
// fields comes back unchanged (Changed false, Message == raw). Otherwise
// the forged fields are removed; an envelope is decrypted with the keys
// from keys, which is consulted only then, and the result is a message
// made of the outer header fields, our X-SMIME-Status field and the
// decrypted inner entity. An envelope that does not open keeps its body
// byte for byte, with our status field prepended.
//
// A changed result is cached under ref (unless it is a temporary failure)
// and later calls for the same ref return it without looking at raw:
// IMAP (UIDVALIDITY, UID) and POP3 UIDLs name immutable messages.
//
// Transform never panics: a bug while transforming yields the original
// message marked "not-decrypted; reason=corrupt".
func (p *Pipeline) Transform(ctx context.Context, ref MessageRef, keys KeySource,
	raw []byte) (out *Output) {
	key, cacheable := cacheKeyFor(ref)
	if cacheable {
		if hit, ok := p.cache.get(key); ok {
			return hit
		}
	}
	defer func() {
		if v := recover(); v != nil {
			p.reportPanic(ref, v)
			out = p.fallback(raw)
		}
	}()
	out = p.transform(ctx, ref, keys, raw)
	if cacheable && worthCaching(out) {
		p.cache.put(key, out)
	}
	return out
}

// worthCaching keeps changed messages whose result is a fact about the
// message; a temporary failure (vault or revocation source down) must be
// retried next time.
// TODO(revocation-cache): a cached "pass" outlives a later revocation or
// expiry until the entry is evicted; bound the age of verified entries.
func worthCaching(out *Output) bool {
	if !out.Changed {
		return false // the caller has the bytes already
	}
	return !out.Temporary()
}

// Temporary reports an output that may differ next time: the vault or a
// revocation source could not be consulted, for the message or for one
// of its attachments.
func (o *Output) Temporary() bool {
	if temporary(o.Decrypt, o.Signed) {
		return true
	}
	for _, a := range o.Attachments {
		if temporary(a.Decrypt, a.Signed) {
			return true
		}
	}
	return false
}

func temporary(d *smime.DecryptResult, signed []smime.SignedEntity) bool {
	if d != nil && d.Outcome == smime.OutcomeTemporaryError {
		return true
	}
	for _, l := range signed {
		for _, s := range l.Signers {
			if s.Result == smime.SigTempError {
				return true
			}
		}
	}
	return false
}

func (p *Pipeline) transform(ctx context.Context, ref MessageRef, keys KeySource,
	raw []byte) *Output {
	info := scanOuter(raw, p.opts.AuthServID)
	kind := smime.ClassifyContentType(info.contentType)
	if !opens(kind) {
		if out := p.openAttachments(ctx, ref, keys, raw, info); out != nil {
			if info.forged > 0 {
				p.auditForged(ref, info.forged)
			}
			return out
		}
		if info.forged == 0 {
			return &Output{Message: raw}
		}
		p.auditForged(ref, info.forged)
		return &Output{Message: p.stripForged(raw, nil), Changed: true}
	}
	if info.forged > 0 {
		p.auditForged(ref, info.forged)
	}
	return p.openLayers(ctx, ref, keys, raw, info, kind)
}

// decrypt fetches the user's keys and opens the envelope, and writes the
// audit line for the attempt.
func (p *Pipeline) decrypt(ctx context.Context, ref MessageRef, keys KeySource, body []byte,
	cte string) smime.DecryptResult {
	start := p.opts.Now()
	res := p.openEnvelope(ctx, keys, body, cte)
	p.auditDecrypt(ref, res, p.opts.Now().Sub(start))
	return res
}

func (p *Pipeline) openEnvelope(ctx context.Context, keys KeySource, body []byte,
	cte string) smime.DecryptResult {
	if err := ctx.Err(); err != nil {
		return temporaryError(fmt.Errorf("before decrypting: %w", err))
	}
	if keys == nil {
		return temporaryError(fmt.Errorf("%w: no key source", ErrKeys))
	}
	ks, err := keys.Keys(ctx)
	if err != nil {
		return temporaryError(fmt.Errorf("%w: %w", ErrKeys, err))
	}
	return smime.DecryptEntity(body, cte, ks, p.opts.Limits)
}

func temporaryError(err error) smime.DecryptResult {
	return smime.DecryptResult{Outcome: smime.OutcomeTemporaryError, Err: err}
}

// fallback is the answer after a panic: the original message marked
// corrupt, so that nothing claims a decryption that did not happen.
func (p *Pipeline) fallback(raw []byte) (out *Output) {
	res := smime.DecryptResult{Outcome: smime.OutcomeCorrupt, Err: smime.ErrPanic}
	line := statusLine(res.Status(), "\r\n")
	defer func() {
		if v := recover(); v != nil {
			p.reportPanic(MessageRef{}, v)
			msg := make([]byte, 0, len(line)+len(raw))
			out = &Output{Message: append(append(msg, line...), raw...), Changed: true,
				Decrypt: &res}
		}
	}()
	return &Output{Message: p.stripForged(raw, line), Changed: true, Decrypt: &res}
}

// reportPanic logs a recovered panic. Only runtime errors are printed:
// their text names an operation, never message bytes.
func (p *Pipeline) reportPanic(ref MessageRef, v any) {
	what := fmt.Sprintf("%T", v)
	if rerr, ok := v.(runtime.Error); ok {
		what = rerr.Error()
	}
	p.log.Error("pipeline: recovered from a bug", "panic", what, "user", ref.User,
		"mailbox", ref.Mailbox, "uid", ref.UID)
	if p.onPanic != nil {
		p.onPanic(v)
	}
}
