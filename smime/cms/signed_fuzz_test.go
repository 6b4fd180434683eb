package cms

import (
	"crypto/x509"
	"errors"
	"testing"
)

// FuzzParseSignedData parses and verifies without the guard: a panic is
// a bug. The seeds in testdata/fuzz/FuzzParseSignedData were written by
// `openssl cms -sign` with throw-away keys: detached, opaque, BER
// (-stream), RSA-PSS with a subjectKeyIdentifier signer, two signers
// without signed attributes or certificates.
func FuzzParseSignedData(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := parseSignedData(data, fuzzLimits.withDefaults(), x509.ParseCertificate)
		if err != nil {
			checkSignedSentinel(t, err)
			return
		}
		for _, si := range sd.Signers {
			cert := si.FindCertificate(sd.Certificates)
			if cert == nil && len(sd.Certificates) > 0 {
				cert = sd.Certificates[0]
			}
			for _, content := range [][]byte{nil, []byte("detached")} {
				if err := sd.verify(si, cert, content); err != nil {
					checkSignedSentinel(t, err)
				}
			}
		}
	})
}

func checkSignedSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrMalformed, ErrUnsupported, ErrLimit, ErrVerify} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v is none of the sentinels", err)
}
