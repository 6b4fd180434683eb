package revocation

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

// FuzzParseCRL feeds parseCRL (PEM unwrapping over crypto/x509) and the
// record index built from what it returns.
func FuzzParseCRL(f *testing.F) {
	p := newPKI(f)
	der := p.makeCRL(f, p.inter, testNow, testNow.Add(time.Hour), p.bad.cert)
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	f.Add([]byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := parseCRL(data)
		if err != nil {
			return
		}
		r := newCRLRecord(list, "", testNow)
		r.status(&x509.Certificate{SerialNumber: p.bad.cert.SerialNumber})
		verifyCRL(list, p.inter.cert)
	})
}
