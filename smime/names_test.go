package smime

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestDistinguishedNameShowsEmailAddress(t *testing.T) {
	name := pkix.Name{
		CommonName: "alice",
		Names: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "alice"},
			{Type: oidEmailAddress, Value: "alice@example.org"},
		},
	}
	if got, want := DistinguishedName(name), "CN=alice,emailAddress=alice@example.org"; got != want {
		t.Errorf("DistinguishedName = %q, want %q", got, want)
	}
	plain := pkix.Name{CommonName: "CA", Organization: []string{"Example"}}
	if got, want := DistinguishedName(plain), "CN=CA,O=Example"; got != want {
		t.Errorf("DistinguishedName = %q, want %q", got, want)
	}
}
