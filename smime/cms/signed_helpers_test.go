package cms

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/asn1"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// opensslSign signs content with `openssl cms -sign -binary -outform DER`
// and the given options (-signer/-inkey pairs, -nodetach, -md ...).
func opensslSign(t testing.TB, dir string, content []byte, opts ...string) []byte {
	t.Helper()
	in := filepath.Join(dir, "content.bin")
	if err := os.WriteFile(in, content, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"cms", "-sign", "-binary", "-in", in, "-outform", "DER"}, opts...)
	return runOpenSSL(t, nil, args...)
}

// signer returns the -signer/-inkey options for id, plus extra options
// that apply to that signer (-keyopt).
func signerOpts(id *testIdentity, extra ...string) []string {
	return append([]string{"-signer", id.certPath, "-inkey", id.keyPath}, extra...)
}

// testSignOptions shape what signTest writes, to make messages OpenSSL
// cannot (Ed25519) or will not (a wrong content-type attribute).
type testSignOptions struct {
	detached    bool
	noAttrs     bool
	attrType    asn1.ObjectIdentifier // content-type attribute; nil: eContentType
	contentType asn1.ObjectIdentifier // eContentType; nil: id-data
	ski         bool                  // identify the signer by subjectKeyIdentifier
}

// signTest writes a SignedData signed by id with SHA-512 and Ed25519 (RFC
// 8419) or, for other keys, SHA-256 and the key's own algorithm.
func signTest(t testing.TB, id *testIdentity, content []byte, o testSignOptions) []byte {
	t.Helper()
	ctype := o.contentType
	if ctype == nil {
		ctype = oidData
	}
	attrType := o.attrType
	if attrType == nil {
		attrType = ctype
	}
	hash, digestOID, sigOID := crypto.SHA256, oidSHA256, oidSigSHA256WithRSA
	if _, ok := id.key.(ed25519.PrivateKey); ok {
		hash, digestOID, sigOID = crypto.SHA512, oidSHA512, oidSigEd25519
	}
	h := hash.New()
	h.Write(content)
	digest := h.Sum(nil)

	var attrs []byte
	signed := content
	if !o.noAttrs {
		attrs = signedAttrs(t, attrType, digest)
		signed = attrs
	}
	sig := testSignature(t, id.key, hash, signed)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlg(b, digestOID) })
				addEncap(b, ctype, content, o.detached)
				certs := cbasn1.Tag(0).ContextSpecific().Constructed()
				b.AddASN1(certs, func(b *cryptobyte.Builder) { b.AddBytes(id.cert.Raw) })
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					addSignerInfo(b, id, o.ski, digestOID, sigOID, attrs, sig)
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func addAlg(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
}

func addEncap(b *cryptobyte.Builder, ctype asn1.ObjectIdentifier, content []byte, detached bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(ctype)
		if detached {
			return
		}
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(content)
		})
	})
}

func addSignerInfo(b *cryptobyte.Builder, id *testIdentity, ski bool,
	digestOID, sigOID asn1.ObjectIdentifier, attrs, sig []byte) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if ski {
			b.AddASN1Int64(3)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddBytes(id.cert.SubjectKeyId)
			})
		} else {
			b.AddASN1Int64(1)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(id.cert.RawIssuer)
				b.AddASN1BigInt(id.cert.SerialNumber)
			})
		}
		addAlg(b, digestOID)
		if attrs != nil {
			// [0] IMPLICIT: the SET OF with its tag changed.
			b.AddBytes(append([]byte{0xa0}, attrs[1:]...))
		}
		addAlg(b, sigOID)
		b.AddASN1OctetString(sig)
	})
}

// signedAttrs returns the DER SET OF content-type, signing-time and
// message-digest attributes, sorted as DER requires.
func signedAttrs(t testing.TB, ctype asn1.ObjectIdentifier, digest []byte) []byte {
	t.Helper()
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	// The three encodings happen to sort in this order (by length octet).
	items := [][]byte{
		attr(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(ctype) }),
		attr(oidAttrSigningTime, func(b *cryptobyte.Builder) {
			b.AddASN1UTCTime(time.Now().UTC().Truncate(time.Second))
		}),
		attr(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, it := range items {
			b.AddBytes(it)
		}
	})
	return b.BytesOrPanic()
}

func testSignature(t testing.TB, key crypto.Signer, hash crypto.Hash, signed []byte) []byte {
	t.Helper()
	if ed, ok := key.(ed25519.PrivateKey); ok {
		return ed25519.Sign(ed, signed)
	}
	h := hash.New()
	h.Write(signed)
	sig, err := key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
