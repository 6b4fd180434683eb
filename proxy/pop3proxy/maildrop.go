package pop3proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// message is one message of the maildrop as this session knows it.
// Message numbers are the mailbox server's, which do not change during a
// session (RFC 1939 section 5).
type message struct {
	num     int
	uidl    string // "" when the server has no UIDL
	rawSize int64  // the server's LIST size
	size    int64  // the size a client reads from RETR, once sized
	sized   bool
	changed bool // the pipeline changes it: RETR shows other bytes
	deleted bool
}

// maildrop is the session's listing, read once after login.
type maildrop struct {
	msgs []*message
	// uidlRefusal is the server's -ERR text to UIDL when it has none.
	uidlRefusal *Error
}

// Windows of pipelined upstream commands (RFC 2449 section 6.6): many
// small TOP responses, fewer whole messages.
const (
	topWindow  = 64
	retrWindow = 8
)

// loadMaildrop reads the UIDL and LIST listings, both in one round trip
// when the server pipelines.
func (sess *session) loadMaildrop() (*maildrop, error) {
	if sess.drop != nil {
		return sess.drop, nil
	}
	drop := &maildrop{}
	uidls := map[int]string{}
	var listErr error
	err := sess.up.Batch([]string{"UIDL", "LIST"}, 2, func(i int, body []byte, err error) error {
		if i == 0 {
			return drop.readUIDL(uidls, body, err)
		}
		if err != nil {
			listErr = err
			return nil
		}
		return drop.readList(uidls, body)
	})
	if err == nil {
		err = listErr
	}
	if err != nil {
		return nil, err
	}
	sess.drop = drop
	return drop, nil
}

func (drop *maildrop) readUIDL(uidls map[int]string, body []byte, err error) error {
	var refusal *Error
	if errors.As(err, &refusal) {
		drop.uidlRefusal = refusal
		return nil
	}
	if err != nil {
		return err
	}
	entries, err := parseListing(body, parseUIDLField)
	for _, e := range entries {
		uidls[e.Num] = e.UIDL
	}
	return err
}

func (drop *maildrop) readList(uidls map[int]string, body []byte) error {
	entries, err := parseListing(body, parseSizeField)
	if err != nil {
		return err
	}
	for i, e := range entries {
		if e.Num != i+1 {
			return fmt.Errorf("%w: LIST numbers out of order at %d", ErrProtocol, e.Num)
		}
		drop.msgs = append(drop.msgs, &message{num: e.Num, uidl: uidls[e.Num], rawSize: e.Size})
	}
	return nil
}

// live returns the messages not marked deleted.
func (drop *maildrop) live() []*message {
	live := make([]*message, 0, len(drop.msgs))
	for _, m := range drop.msgs {
		if !m.deleted {
			live = append(live, m)
		}
	}
	return live
}

// lookup finds the message a command argument names. A bad or deleted
// number is answered here, and m is nil then.
func (sess *session) lookup(arg string) (m *message, err error) {
	drop, err := sess.loadMaildrop()
	if err != nil {
		return nil, sess.relay("LIST", "", err)
	}
	n, convErr := strconv.Atoi(arg)
	switch {
	case convErr != nil || n < 1 || n > len(drop.msgs):
		return nil, sess.reply("-ERR No such message")
	case drop.msgs[n-1].deleted:
		return nil, sess.reply("-ERR Message is deleted")
	}
	return drop.msgs[n-1], nil
}

func (sess *session) ref(m *message) pipeline.MessageRef {
	keyset, _ := sess.keyset() // on error the pipeline answers temporary-error, uncached
	return pipeline.MessageRef{User: sess.user, Mailbox: "INBOX", POP3UIDL: m.uidl, KeySet: keyset}
}

// size makes sure every message in msgs has its client-visible size. It
// asks the size cache first; for the rest it fetches the header (TOP n 0)
// and classifies it, and fetches and transforms whole only the messages
// the pipeline changes, or may change: a multipart message can hold an
// envelope as a message/rfc822 attachment, which only its body shows.
// The first session of a maildrop pays for that, later ones find the
// sizes cached.
func (sess *session) size(msgs []*message) error {
	var unknown []*message
	for _, m := range msgs {
		if !m.sized && !sess.cachedSize(m) {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	full, err := sess.classify(unknown)
	if err != nil {
		return err
	}
	return sess.sizeTransformed(full)
}

// classify sizes the messages that pass through unchanged and returns the
// others.
func (sess *session) classify(msgs []*message) ([]*message, error) {
	if caps := sess.up.Capabilities(); caps != nil && !caps.Has("TOP") {
		return msgs, nil
	}
	commands := make([]string, len(msgs))
	for i, m := range msgs {
		commands[i] = "TOP " + strconv.Itoa(m.num) + " 0"
	}
	p := sess.srv.opts.Pipeline
	var full []*message
	err := sess.up.Batch(commands, topWindow, func(i int, header []byte, err error) error {
		// A multipart message may hold an envelope in a message/rfc822
		// part, which only its body shows: it is fetched whole too.
		if err == nil && noTransform(p, header) {
			sess.learn(msgs[i], result{size: msgs[i].rawSize})
		} else {
			full = append(full, msgs[i])
		}
		return nil
	})
	return full, err
}

// noTransform reports a header the pipeline will not change the message
// of, whatever its body.
func noTransform(p *pipeline.Pipeline, header []byte) bool {
	transform, bodyScan := p.Triage(header)
	return !transform && !bodyScan
}

// sizeTransformed sizes messages the pipeline changes: from its cache, or
// by fetching and transforming them. Transformations run in parallel, one
// per CPU, while the next messages arrive; only their sizes are kept.
func (sess *session) sizeTransformed(msgs []*message) error {
	p := sess.srv.opts.Pipeline
	var fetch []*message
	var commands []string
	for _, m := range msgs {
		if out, ok := p.Cached(sess.ref(m)); ok {
			sess.learn(m, resultOf(out, wireLen(out.Message)))
			continue
		}
		fetch = append(fetch, m)
		commands = append(commands, "RETR "+strconv.Itoa(m.num))
	}
	results := make([]*result, len(fetch))
	workers := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	err := sess.up.Batch(commands, retrWindow, func(i int, raw []byte, err error) error {
		if err != nil {
			return nil // RETR will relay the refusal
		}
		raw = bytes.Clone(raw) // Batch reuses its buffer
		workers <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-workers; wg.Done() }()
			out := sess.transform(fetch[i], raw)
			r := resultOf(out, wireLen(out.Message))
			results[i] = &r
		}()
		return nil
	})
	wg.Wait()
	for i, m := range fetch {
		if results[i] == nil {
			m.size, m.sized = m.rawSize, true // the server's size until RETR
			continue
		}
		sess.learn(m, *results[i])
	}
	return err
}

// transform runs raw through the pipeline when it needs it.
func (sess *session) transform(m *message, raw []byte) *pipeline.Output {
	p := sess.srv.opts.Pipeline
	if !p.NeedsTransform(raw) && !(p.NeedsBodyScan(raw) && p.NeedsTransformBody(raw)) {
		return &pipeline.Output{Message: raw}
	}
	return p.Transform(context.Background(), sess.ref(m), sess.keys, raw)
}

// result is what the sizes need to know of a pipeline output.
type result struct {
	size    int64
	changed bool
	// keyed: the result depends on the user's keys (an envelope);
	// signed: on the signer's certificate status, which changes with
	// time; temporary: it may differ next time (the vault failed).
	keyed, signed, temporary bool
}

func resultOf(out *pipeline.Output, size int64) result {
	r := result{size: size, changed: out.Changed, keyed: out.Decrypt != nil,
		signed: len(out.Signed) > 0, temporary: out.Temporary()}
	for _, a := range out.Attachments {
		r.keyed = r.keyed || a.Decrypt != nil
		r.signed = r.signed || len(a.Signed) > 0
	}
	return r
}

// signedTTL bounds how long the size of a message with a signature
// verdict is trusted: the verdict, and with it the status header, can
// change when a certificate expires or is revoked.
const signedTTL = time.Hour

// learn records the client-visible size of m, for this session and, when
// the result is a fact about the message, for later ones.
func (sess *session) learn(m *message, r result) {
	if m.sized && m.size != r.size {
		sess.log.Warn("message size differs from the size listed before", "msg", m.num,
			"listed", m.size, "size", r.size)
	}
	m.size, m.sized, m.changed = r.size, true, r.changed
	if m.uidl == "" || r.temporary {
		return
	}
	entry := sizeEntry{rawSize: m.rawSize, size: r.size, changed: r.changed}
	if r.signed {
		entry.expires = time.Now().Add(signedTTL)
	}
	if r.keyed {
		keyset, err := sess.keyset()
		if err != nil {
			return
		}
		entry.keyset = keyset
	}
	sess.srv.sizes.put(sizeKey{user: sess.user, uidl: m.uidl}, entry)
}

// cachedSize fills in m's size from the size cache if the entry is still
// true: same upstream size, and for envelopes, the same user keys.
func (sess *session) cachedSize(m *message) bool {
	if m.uidl == "" {
		return false
	}
	e, ok := sess.srv.sizes.get(sizeKey{user: sess.user, uidl: m.uidl})
	if !ok || e.rawSize != m.rawSize {
		return false
	}
	if !e.expires.IsZero() && time.Now().After(e.expires) {
		return false
	}
	if e.keyset != "" {
		if keyset, err := sess.keyset(); err != nil || keyset != e.keyset {
			return false
		}
	}
	m.size, m.sized, m.changed = e.size, true, e.changed
	return true
}

// keyset names the user's current set of keys, so that cached results
// of decryption attempts expire when keys change.
func (sess *session) keyset() (string, error) {
	return sess.keys.KeySetID(context.Background())
}
