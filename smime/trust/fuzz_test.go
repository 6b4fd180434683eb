package trust

import (
	"encoding/pem"
	"testing"
)

// FuzzParseCertificates feeds the PEM-or-DER detection over crypto/x509.
func FuzzParseCertificates(f *testing.F) {
	p := newPKI(f)
	f.Add(p.root.cert.Raw)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.cert.Raw}))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
	})
}
