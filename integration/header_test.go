package integration

import (
	"bytes"
	"regexp"
	"strings"
)

// field is one header field as it appears on the wire, folding included.
type field struct {
	name string
	raw  []byte // "Name: value\r\n" plus continuation lines
}

// value is the unfolded field body without surrounding white space.
func (f field) value() string {
	_, v, _ := strings.Cut(string(f.raw), ":")
	v = strings.NewReplacer("\r\n", "", "\n", "").Replace(v)
	return strings.TrimSpace(v)
}

// splitMessage splits a CRLF message into its header fields and its body
// (after the blank line), RFC 5322 section 2.2.
func splitMessage(msg []byte) ([]field, []byte) {
	var fields []field
	rest := msg
	for len(rest) > 0 {
		if bytes.HasPrefix(rest, []byte("\r\n")) {
			return fields, rest[2:]
		}
		line, after := cutLine(rest)
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			last := &fields[len(fields)-1]
			last.raw = append(last.raw, line...)
		} else {
			name, _, _ := bytes.Cut(line, []byte(":"))
			fields = append(fields, field{name: string(name), raw: bytes.Clone(line)})
		}
		rest = after
	}
	return fields, nil
}

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return b, nil
	}
	return b[:i+2], b[i+2:]
}

// fieldsNamed returns the fields called name (case-insensitive).
func fieldsNamed(fields []field, name string) []field {
	var out []field
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f)
		}
	}
	return out
}

// joinFields writes fields back in wire form.
func joinFields(fields []field) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f.raw...)
	}
	return b
}

// withoutFields drops the fields for which drop is true.
func withoutFields(fields []field, drop func(name string) bool) []field {
	var out []field
	for _, f := range fields {
		if !drop(f.name) {
			out = append(out, f)
		}
	}
	return out
}

// withoutFieldsF drops the fields for which drop is true.
func withoutFieldsF(fields []field, drop func(field) bool) []field {
	var out []field
	for _, f := range fields {
		if !drop(f) {
			out = append(out, f)
		}
	}
	return out
}

// isOurAuthResults: an Authentication-Results field claiming to be ours
// (RFC 8601 section 5: remove such fields arriving from outside).
func isOurAuthResults(f field) bool {
	if !strings.EqualFold(f.name, "Authentication-Results") {
		return false
	}
	id, _, _ := strings.Cut(f.value(), ";")
	return strings.EqualFold(strings.TrimSpace(id), authservID)
}

func isStatusField(name string) bool { return strings.EqualFold(name, "X-SMIME-Status") }

func isContentField(name string) bool {
	return len(name) >= 8 && strings.EqualFold(name[:8], "Content-")
}

// statusParam returns parameter key of an X-SMIME-Status value, "" if absent.
func statusParam(value, key string) string {
	for _, p := range strings.Split(value, ";")[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, key) {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// statusGrammar is the contract's X-SMIME-Status syntax: outcome
// *(";" SP element), element = param / token, param = token "=" (token /
// quoted-string) (RFC 2045 token). Bare tokens are the signature elements
// ("signed; valid") and "unauthenticated-encryption".
var statusGrammar = regexp.MustCompile(`^[a-z][a-z-]*` +
	`(; [A-Za-z0-9!#$%&'*+.^_|~-]+(=([A-Za-z0-9!#$%&'*+.^_|~-]+|"([^"\\\r\n]|\\.)*"))?)*$`)

// hasStatusPrefix reports whether an X-SMIME-Status value starts with the
// elements in want ("decrypted; cipher=aes-256-cbc"), whole elements only.
func hasStatusPrefix(value, want string) bool {
	if !strings.HasPrefix(value, want) {
		return false
	}
	rest := strings.TrimSpace(value[len(want):])
	return rest == "" || rest[0] == ';'
}

// expectedDecrypted is the message the contract says the client sees for a
// decrypted message: the outer fields in their order minus Content-* and
// incoming status fields, our fields (Authentication-Results, RFC 8601,
// with smime=none or the signature results, then the status field), then
// the inner entity.
func expectedDecrypted(raw []byte, ours []field, inner []byte) []byte {
	outer, _ := splitMessage(crlf(raw))
	outer = withoutFieldsF(outer, func(f field) bool {
		return isContentField(f.name) || isStatusField(f.name) || isOurAuthResults(f)
	})
	var b []byte
	b = append(b, joinFields(outer)...)
	b = append(b, joinFields(ours)...)
	return append(b, inner...)
}

// ourFields returns the fields the proxy adds, in their order: our
// Authentication-Results and the status field.
func ourFields(fields []field) []field {
	return withoutFieldsF(fields, func(f field) bool {
		return !isOurAuthResults(f) && !isStatusField(f.name)
	})
}
