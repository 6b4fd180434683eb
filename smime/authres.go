package smime

import (
	"strings"
)

// AuthResultsHeader is the field RFC 8601 defines for authentication
// results; the proxy writes one under its own authserv-id.
const AuthResultsHeader = "Authentication-Results"

// AuthResultsField formats a whole Authentication-Results field (name,
// value, CRLF) for the "smime" method (RFC 7281 section 3): one resinfo
// per signer of every signed layer, outermost layer first, or
// "smime=none" for an encrypted message without signature. It returns nil
// when there is nothing to report (neither signed nor encrypted).
//
// Each resinfo carries the RFC 7281 section 3.2 properties:
// body.smime-identifier (the signer's address), body.smime-part (the IMAP
// part that was signed), body.smime-serial and body.smime-issuer (which
// go together, section 3.2.3), and a comment for people after the result.
// Lines are folded before each resinfo and property (RFC 5322 section
// 2.2.3) so that no line grows past the 78-character recommendation by
// much.
func AuthResultsField(authservID string, layers []SignedEntity, encrypted bool) []byte {
	var infos []string
	for _, l := range layers {
		for _, s := range l.Signers {
			infos = append(infos, resinfo(s, l.Part))
		}
	}
	if len(infos) == 0 {
		if !encrypted {
			return nil
		}
		infos = append(infos, "smime=none (message not signed)")
	}
	var b strings.Builder
	b.WriteString(AuthResultsHeader + ": ")
	b.WriteString(authservValue(authservID))
	for _, info := range infos {
		b.WriteString(";\r\n\t")
		b.WriteString(info)
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// resinfo formats one result: method, result, comment, properties.
func resinfo(s SignerResult, part string) string {
	var b strings.Builder
	b.WriteString("smime=")
	b.WriteString(string(s.Result))
	if s.Comment != "" {
		b.WriteString(" (")
		b.WriteString(commentText(s.Comment))
		b.WriteByte(')')
	}
	if s.Identifier != "" {
		b.WriteString("\r\n\tbody.smime-identifier=")
		b.WriteString(propertyValue(s.Identifier, true))
	}
	if part != "" {
		b.WriteString("\r\n\tbody.smime-part=")
		b.WriteString(propertyValue(part, false))
	}
	if s.Serial != "" && s.Issuer != "" {
		b.WriteString("\r\n\tbody.smime-serial=")
		b.WriteString(propertyValue(s.Serial, false))
		b.WriteString("\r\n\tbody.smime-issuer=")
		b.WriteString(quoted(s.Issuer))
	}
	return b.String()
}

// authservValue writes the authserv-id as a token, or quoted when it is
// not one (RFC 8601 section 2.2: value = token / quoted-string).
func authservValue(id string) string {
	if id == "" {
		return "unknown"
	}
	return propertyValue(id, false)
}

// propertyValue writes a pvalue (RFC 8601 section 2.2): a token, a mail
// address written as is when it is plain ASCII without specials other
// than '@' and '.', else a quoted-string.
func propertyValue(v string, address bool) string {
	plain := v != ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isTokenChar(c) || address && (c == '@' || c == '.') {
			continue
		}
		plain = false
		break
	}
	if plain {
		return v
	}
	return quoted(v)
}

// quoted writes a quoted-string with '"' and '\' escaped and control or
// 8-bit bytes replaced, so that a certificate cannot end the header.
func quoted(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// commentText escapes a comment's contents (RFC 5322 section 3.2.2).
func commentText(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
