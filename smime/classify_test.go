package smime

import "testing"

func TestClassifyContentType(t *testing.T) {
	tests := []struct {
		value string
		want  Kind
	}{
		{`application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"`, KindEnveloped},
		{`application/x-pkcs7-mime; smime-type=enveloped-data; name=smime.p7m`, KindEnveloped},
		{`Application/PKCS7-MIME; Smime-Type=Enveloped-Data`, KindEnveloped},
		{`application/pkcs7-mime; smime-type=authEnveloped-data`, KindEnveloped},
		{`application/pkcs7-mime; smime-type="authenveloped-data"`, KindEnveloped},
		{"application/pkcs7-mime;\r\n smime-type=enveloped-data;\r\n name=smime.p7m",
			KindEnveloped},
		{`application/pkcs7-mime; name="smime.p7m"`, KindEnveloped},
		{`application/x-pkcs7-mime; name="SMIME.P7M"`, KindEnveloped},
		{`application/pkcs7-mime; filename=mail.p7m`, KindEnveloped},
		{`application/pkcs7-mime; name*=UTF-8''secret.p7m`, KindEnveloped},
		{`application/pkcs7-mime; smime-type=enveloped-data;`, KindEnveloped},
		{`application/pkcs7-mime`, KindPlain},
		{`application/pkcs7-mime; name=smime.p7s`, KindPlain},
		{`application/pkcs7-mime; smime-type=unknown-data; name=smime.p7m`, KindPlain},
		{`application/pkcs7-mime; smime-type=signed-data; name=smime.p7m`, KindSignedOpaque},
		{`application/x-pkcs7-mime; smime-type=Signed-Data`, KindSignedOpaque},
		{`application/pkcs7-mime; smime-type=certs-only; name=smime.p7c`, KindCertsOnly},
		{`application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z`, KindCompressed},
		{`multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; ` +
			`boundary="b"`, KindSigned},
		{`multipart/signed; protocol="application/x-pkcs7-signature"; boundary=b`, KindSigned},
		{`Multipart/Signed; Protocol="Application/PKCS7-Signature"; boundary=b`, KindSigned},
		{`multipart/signed; protocol="application/pgp-signature"; boundary=b`, KindPlain},
		{`multipart/signed; boundary=b`, KindPlain},
		{`application/pkcs7-signature; name=smime.p7s`, KindPlain},
		{`text/plain; charset=us-ascii`, KindPlain},
		{`multipart/mixed; boundary="x"`, KindPlain},
		{``, KindPlain},
		{`;;;`, KindPlain},
		{`application/pkcs7-mime; smime-type="enveloped-data`, KindPlain},
		{`application/pkcs7-mime smime-type=enveloped-data`, KindPlain},
		{"application/pkcs7-mime; smime-type=enveloped-data; name=\"\xff\xfe.p7m\"",
			KindEnveloped},
	}
	for _, tt := range tests {
		if got := ClassifyContentType(tt.value); got != tt.want {
			t.Errorf("ClassifyContentType(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindPlain: "plain", KindEnveloped: "enveloped",
		KindSigned: "signed", Kind(99): "unknown", Kind(-1): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
