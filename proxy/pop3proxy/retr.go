package pop3proxy

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// cmdRetr answers RETR (RFC 1939 section 7) with the message as the
// pipeline makes it. The whole original is read before the +OK: a server
// that fails mid-message gives the client -ERR, never a short message
// that looks complete.
func (sess *session) cmdRetr(args []string, _ string) error {
	if len(args) != 1 {
		return sess.reply("-ERR Syntax: RETR msg")
	}
	m, err := sess.lookup(args[0])
	if m == nil {
		return err
	}
	msg, err := sess.fetch(m)
	if err != nil {
		return sess.fetchFailed("RETR", err)
	}
	return sess.replyMessage(strconv.Itoa(len(msg))+" octets", msg)
}

// cmdTop answers TOP (RFC 1939 section 7) with the header and first
// lines of the message RETR returns. For a message the pipeline leaves
// alone that is the server's own TOP, which saves fetching it whole.
func (sess *session) cmdTop(args []string, _ string) error {
	if len(args) != 2 {
		return sess.reply("-ERR Syntax: TOP msg n")
	}
	lines, err := strconv.Atoi(args[1])
	if err != nil || lines < 0 {
		return sess.reply("-ERR Invalid number of lines")
	}
	m, err := sess.lookup(args[0])
	if m == nil {
		return err
	}
	if caps := sess.up.Capabilities(); !m.changed && (caps == nil || caps.Has("TOP")) {
		head, err := sess.up.Top(m.num, lines)
		if err != nil {
			return sess.fetchFailed("TOP", err)
		}
		// A multipart message may carry an envelope as an attachment,
		// which only the whole message shows, unless it was sized already.
		p := sess.srv.opts.Pipeline
		if !p.NeedsTransform(head) && (m.sized || !p.NeedsBodyScan(head)) {
			return sess.replyMessage("Top of message follows", head)
		}
	}
	msg, err := sess.fetch(m)
	if err != nil {
		return sess.fetchFailed("TOP", err)
	}
	return sess.replyMessage("Top of message follows", top(msg, lines))
}

// fetch returns message m as the client sees it, with CRLF line endings:
// from the pipeline's cache, or fetched and run through the pipeline.
func (sess *session) fetch(m *message) ([]byte, error) {
	if m.changed || !m.sized {
		if out, ok := sess.srv.opts.Pipeline.Cached(sess.ref(m)); ok {
			return sess.deliver(m, out), nil
		}
	}
	raw, err := sess.up.RetrInto(m.num, sess.buffer(m.rawSize))
	if err != nil {
		return nil, err
	}
	if cap(raw) <= maxKeptBuffer {
		sess.retrBuf = raw[:0] // the pipeline keeps no reference to raw
	}
	return sess.deliver(m, sess.transform(m, raw)), nil
}

// maxKeptBuffer bounds the buffer a session keeps between RETRs, so that
// one big message does not pin its memory for the rest of the session.
const maxKeptBuffer = 1 << 20

// buffer returns the session's empty RETR buffer, grown to size. What a
// command reads into it is dead once the command is answered.
func (sess *session) buffer(size int64) []byte {
	if int64(cap(sess.retrBuf)) < size && size <= maxKeptBuffer {
		sess.retrBuf = make([]byte, 0, size)
	}
	return sess.retrBuf[:0]
}

func (sess *session) deliver(m *message, out *pipeline.Output) []byte {
	msg := out.Message
	if out.Changed { // what came from upstream is canonical already
		msg = canonical(msg)
	}
	sess.learn(m, resultOf(out, int64(len(msg))))
	return msg
}

// fetchFailed answers a RETR or TOP that did not get the message: the
// server's refusal is relayed, a message beyond the proxy's limit is
// refused, and a broken connection ends the session.
func (sess *session) fetchFailed(cmd string, err error) error {
	if errors.Is(err, ErrMessageTooLarge) {
		sess.log.Warn("message too large for the proxy", "cmd", cmd)
		return sess.reply("-ERR [SYS/PERM] Message too large for the proxy")
	}
	return sess.relay(cmd, "", err)
}

// top cuts msg (CRLF line endings) after its header, the blank line and
// lines more lines (RFC 1939 section 7). A message without a body is
// returned whole.
func top(msg []byte, lines int) []byte {
	end := headerEnd(msg)
	for ; lines > 0 && end < len(msg); lines-- {
		i := bytes.IndexByte(msg[end:], '\n')
		if i < 0 {
			return msg
		}
		end += i + 1
	}
	return msg[:end]
}

// headerEnd is the offset after the blank line that ends the header, or
// len(msg) when there is none.
func headerEnd(msg []byte) int {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return 2
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return len(msg)
}
