package metrics

import "strings"

// labelOther stands for every value outside a fixed list.
const labelOther = "other"

// Fixed label values. Prometheus keeps one time series per distinct label
// set, so every label is checked against one of these lists (STYLE.md
// rule 14): a new value from a future release or a hostile upstream is
// counted, under "other", but never creates a series.
var (
	// decryptOutcomes are smime.DecryptOutcome values.
	decryptOutcomes = []string{"decrypted", "no-key", "unsupported-algorithm",
		"could-not-decrypt", "corrupt", "too-large", "temporary-error"}
	// signatureResults are the RFC 7281 smime= results (RFC 8601 section 2.7).
	signatureResults = []string{"pass", "fail", "neutral", "none", "policy",
		"temperror", "permerror"}
	// eventKinds are the pipeline's audit event kinds.
	eventKinds = []string{"decrypt", "forged-status", "verify"}
	// protocols are the proxied protocols.
	protocols = []string{"imap", "pop3"}
	// commands are the IMAP (RFC 3501) and POP3 (RFC 1939, RFC 2449,
	// RFC 2595) commands a session may send upstream, plus CONNECT for
	// the connection and greeting.
	commands = []string{"CONNECT",
		"LOGIN", "AUTHENTICATE", "LOGOUT", "CAPABILITY", "NOOP", "STARTTLS",
		"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE",
		"UNSUBSCRIBE", "LIST", "LSUB", "STATUS", "NAMESPACE", "APPEND", "CHECK",
		"CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE",
		"IDLE", "ENABLE", "ID",
		"USER", "PASS", "APOP", "AUTH", "STLS", "CAPA", "STAT", "RETR", "TOP",
		"UIDL", "DELE", "RSET", "QUIT"}
)

// oneOf returns value when allowed lists it, else "other".
func oneOf(value string, allowed []string) string {
	for _, a := range allowed {
		if value == a {
			return a
		}
	}
	return labelOther
}

// commandLabel reduces a command to its name: "UID FETCH" and "FETCH" are
// the same upstream work, and "AUTHENTICATE PLAIN" names a mechanism we
// need not split by.
func commandLabel(cmd string) string {
	cmd = strings.ToUpper(strings.TrimSpace(cmd))
	cmd = strings.TrimPrefix(cmd, "UID ")
	if i := strings.IndexByte(cmd, ' '); i >= 0 {
		cmd = cmd[:i]
	}
	if oneOf(cmd, commands) == labelOther {
		return "OTHER"
	}
	return cmd
}
