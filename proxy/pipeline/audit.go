package pipeline

import (
	"time"

	"github.com/smimeproxy/smimeproxy/smime"
)

// refFields are the log fields that name a message: (mailbox, uid) for
// IMAP, uidl for POP3. Never the subject or any other content.
func refFields(ref MessageRef) []any {
	fields := []any{"user", ref.User}
	if ref.POP3UIDL != "" && ref.UID == 0 {
		return append(fields, "uidl", ref.POP3UIDL)
	}
	return append(fields, "mailbox", ref.Mailbox, "uidvalidity", ref.UIDValidity,
		"uid", ref.UID)
}

// auditDecrypt writes the one audit line of a decryption attempt. The
// detailed error is there for the operator; it names structures and
// algorithms, never content or key material (the cms package promises
// that for its errors, and ours quote neither).
func (p *Pipeline) auditDecrypt(ref MessageRef, res smime.DecryptResult, d time.Duration) {
	fields := append([]any{"event", "decrypt"}, refFields(ref)...)
	fields = append(fields, "key", res.KeyID, "outcome", string(res.Outcome),
		"cipher", res.Cipher, "recipient", res.Recipient, "duration", d)
	if res.Detail != "" {
		fields = append(fields, "detail", res.Detail)
	}
	if res.Err != nil {
		fields = append(fields, "error", res.Err.Error())
	}
	p.observe(Event{Kind: EventDecrypt, Ref: ref, KeyID: res.KeyID, Outcome: string(res.Outcome),
		Cipher: res.Cipher, Duration: d})
	if res.Outcome == smime.OutcomeTemporaryError {
		p.audit.Warn("decrypt", fields...)
		return
	}
	p.audit.Info("decrypt", fields...)
}

// auditForged records that fields claiming to be our results were
// removed: someone upstream tried, or another proxy wrote them.
func (p *Pipeline) auditForged(ref MessageRef, count int) {
	fields := append([]any{"event", "forged-status"}, refFields(ref)...)
	p.audit.Info("removed forged status fields", append(fields, "count", count)...)
	p.observe(Event{Kind: EventForgedStatus, Ref: ref, Count: count})
}

// auditVerify writes one audit line per signer of a signed layer: who
// (the session user and the message), the signer's certificate serial
// and issuer, and the result. Never the content or the subject.
func (p *Pipeline) auditVerify(ref MessageRef, se smime.SignedEntity, d time.Duration) {
	for _, s := range se.Signers {
		fields := append([]any{"event", "verify"}, refFields(ref)...)
		fields = append(fields, "layer", se.Kind.String(), "result", string(s.Result),
			"reason", s.Reason, "signer", s.Identifier, "serial", s.Serial, "issuer", s.Issuer,
			"digest", s.DigestAlgorithm, "algorithm", s.SignatureAlgorithm,
			"revocation", s.RevocationSource, "duration", d)
		if s.Err != nil {
			fields = append(fields, "error", s.Err.Error())
		}
		p.observe(Event{Kind: EventVerify, Ref: ref, Outcome: string(s.Result),
			Reason: s.Reason, Digest: s.DigestAlgorithm, Duration: d})
		if s.Result == smime.SigTempError {
			p.audit.Warn("verify", fields...)
			continue
		}
		p.audit.Info("verify", fields...)
	}
}

// Event kinds an Observer receives.
const (
	EventDecrypt      = "decrypt"
	EventForgedStatus = "forged-status"
	// EventVerify is one signer of a signed layer; Outcome is its RFC 7281
	// result (smime.SigResult), Reason one of the smime.Reason constants.
	EventVerify = "verify"
)

// Event is what an Observer learns of one audited step: the same facts as
// the audit log line, never content or key material. Metrics must not
// use Ref's user, mailbox or ids as label values; the dashboard's list of
// recent events may show them to the operator.
type Event struct {
	Time     time.Time
	Kind     string // EventDecrypt, EventForgedStatus, EventVerify
	Ref      MessageRef
	KeyID    string
	Outcome  string // a smime.DecryptOutcome, or a smime.SigResult for EventVerify
	Reason   string // EventVerify: why not pass, a smime.Reason constant ("" for pass)
	Digest   string // EventVerify: the digest algorithm, e.g. "sha256"
	Cipher   string
	Count    int // forged fields removed, for EventForgedStatus
	Duration time.Duration
}

func (p *Pipeline) observe(ev Event) {
	if p.opts.Observer == nil {
		return
	}
	ev.Time = p.opts.Now()
	p.opts.Observer(ev)
}
