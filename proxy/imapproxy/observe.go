package imapproxy

import "time"

// upstreamTimer measures one upstream command for Options.ObserveUpstream
// (metrics and the dashboard's latency figures). It is separate from the
// commands' own logic: a session without an observer pays one nil check.
type upstreamTimer struct {
	observe func(proto, cmd string, d time.Duration, err error)
	cmd     string
	start   time.Time
}

// timeUpstream starts timing cmd; call done (or report, deferred) when the
// upstream command has completed.
func (sess *session) timeUpstream(cmd string) upstreamTimer {
	t := upstreamTimer{observe: sess.srv.opts.ObserveUpstream, cmd: cmd}
	if t.observe != nil {
		t.start = time.Now()
	}
	return t
}

func (t upstreamTimer) done(err error) {
	if t.observe != nil {
		t.observe("imap", t.cmd, time.Since(t.start), err)
	}
}

// report is done for use with defer and a named error result.
func (t upstreamTimer) report(err *error) { t.done(*err) }
