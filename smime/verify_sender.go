package smime

import (
	"crypto/x509"
	"encoding/asn1"
	"net/mail"
	"strings"
)

// oidEmailAddress is the PKCS #9 emailAddress attribute that older
// certificates put in the subject instead of a subjectAltName.
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// certAddresses lists the mail addresses a certificate names:
// rfc822Name subjectAltNames first, then subject emailAddress attributes
// (RFC 8550 section 3).
func certAddresses(cert *x509.Certificate) []string {
	out := append([]string(nil), cert.EmailAddresses...)
	for _, atv := range cert.Subject.Names {
		if !atv.Type.Equal(oidEmailAddress) {
			continue
		}
		if s, ok := atv.Value.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// senderMatches applies RFC 8550 section 3: the address in From, or in
// Sender when present, must be one of the certificate's addresses. The
// comparison ignores case in the whole address: mailbox names that differ
// only in case are the same mailbox at every provider we know, and a
// stricter rule would only turn good signatures into "policy".
func senderMatches(cert *x509.Certificate, senders []string) bool {
	for _, a := range certAddresses(cert) {
		for _, s := range senders {
			if strings.EqualFold(strings.TrimSpace(a), s) {
				return true
			}
		}
	}
	return false
}

// SenderAddresses returns the addresses of the From and Sender header
// field values given (either may be ""), for the sender match.
func SenderAddresses(from, sender string) []string {
	var out []string
	for _, v := range []string{from, sender} {
		if v == "" {
			continue
		}
		list, err := mail.ParseAddressList(v)
		if err != nil {
			continue
		}
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out
}
