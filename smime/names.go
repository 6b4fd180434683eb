package smime

import (
	"crypto/x509/pkix"
	"strings"
)

// DistinguishedName formats name as pkix.Name.String does, except that an
// emailAddress attribute reads "emailAddress=alice@example.org" instead
// of the hex encoding Go gives attributes it has no short name for. It is
// what operators see in key listings, the dashboard and trust errors.
func DistinguishedName(name pkix.Name) string {
	var emails []string
	kept := make([]pkix.AttributeTypeAndValue, 0, len(name.Names))
	for _, atv := range name.Names {
		if atv.Type.Equal(oidEmailAddress) {
			if s, ok := atv.Value.(string); ok {
				emails = append(emails, s)
				continue
			}
		}
		kept = append(kept, atv)
	}
	name.Names = kept
	parts := []string{}
	if s := name.String(); s != "" {
		parts = append(parts, s)
	}
	for _, e := range emails {
		parts = append(parts, "emailAddress="+escapeDNValue(e))
	}
	return strings.Join(parts, ",")
}

// escapeDNValue escapes the characters RFC 4514 section 2.4 reserves.
func escapeDNValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', '+', '"', '\\', '<', '>', ';':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
