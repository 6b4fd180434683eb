package cms

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// EncryptOptions selects how Encrypt writes a message.
type EncryptOptions struct {
	// Cipher is the content cipher: "aes-128-cbc", "aes-192-cbc",
	// "aes-256-cbc" (the default when empty), "des-ede3-cbc", or an AEAD,
	// "aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-poly1305",
	// which makes AuthEnvelopedData (RFC 5083).
	Cipher string
	// OAEP selects RSA-OAEP key transport (RFC 3560) instead of PKCS #1
	// v1.5.
	OAEP bool
	// OAEPHash and OAEPMGFHash choose the OAEP and MGF1 hashes; zero means
	// SHA-256.
	OAEPHash, OAEPMGFHash crypto.Hash
	// UseSKI names recipients by subjectKeyIdentifier instead of issuer
	// and serial number.
	UseSKI bool
	// KDFHash is the key agreement KDF hash: X9.63 (RFC 5753) for P-256,
	// P-384 and P-521, HKDF (RFC 8418) for X25519. Zero means SHA-256.
	KDFHash crypto.Hash
	// Cofactor selects dhSinglePass-cofactorDH (RFC 5753) for NIST curves.
	Cofactor bool
	// UKM is user keying material for key agreement and KEM recipients.
	UKM []byte
	// PBKDF2Iterations is the iteration count for password recipients;
	// zero means 2048, as OpenSSL writes.
	PBKDF2Iterations int
	// Compress wraps the content in CompressedData (RFC 3274) before it
	// is encrypted.
	Compress bool
}

// Encrypt writes content as DER EnvelopedData (or AuthEnvelopedData for
// an AEAD cipher) for the recipients' certificates, RSA (key transport)
// or ECDSA P-256/384/521 (key agreement). It is meant for the demo and
// tests, and its output opens with `openssl cms -decrypt -inform DER`.
func Encrypt(content []byte, recipients []*x509.Certificate, opts EncryptOptions) (
	der []byte, err error) {
	rs := make([]EncryptRecipient, len(recipients))
	for i, c := range recipients {
		rs[i] = EncryptRecipient{Certificate: c}
	}
	return EncryptFor(content, rs, opts)
}

// EncryptFor is Encrypt for every kind of recipient: certificates, keys
// Go cannot read from a certificate (X25519, ML-KEM), KEK secrets and
// passwords.
func EncryptFor(content []byte, recipients []EncryptRecipient, opts EncryptOptions) (
	der []byte, err error) {
	defer guard(&err)
	if opts.Cipher == "" {
		opts.Cipher = "aes-256-cbc"
	}
	spec := cipherByName(opts.Cipher)
	if spec == nil || spec.name == "rc2-cbc" || spec.name == "des-cbc" {
		return nil, unsupported("content cipher for Encrypt", opts.Cipher)
	}
	if len(recipients) == 0 {
		return nil, errors.New("cms: encrypt: no recipients")
	}
	cek := make([]byte, spec.keyLen)
	defer clear(cek)
	if _, err := rand.Read(cek); err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	infos, version, err := encryptKeys(cek, recipients, opts)
	if err != nil {
		return nil, err
	}
	ctype := oidData
	if opts.Compress {
		ctype, content = oidCompressedData, compressedData(content)
	}
	sealed, err := seal(spec, cek, content)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	sealed.ctype = ctype
	return sealed.marshal(spec, infos, version)
}

// sealedContent is the output of the content cipher.
type sealedContent struct {
	params     func(b *cryptobyte.Builder)
	ciphertext []byte
	tag        []byte // AEAD tag, sent as the AuthEnvelopedData mac
	ctype      asn1.ObjectIdentifier
}

func seal(spec *cipherSpec, cek, content []byte) (*sealedContent, error) {
	switch spec.mode {
	case modeCBC:
		return sealCBC(spec, cek, content)
	case modeGCM:
		block, err := aes.NewCipher(cek)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		// RFC 5084 section 3.2: GCMParameters with the ICV length stated.
		return sealAEAD(aead, content, func(b *cryptobyte.Builder, nonce []byte) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(nonce)
				b.AddASN1Int64(int64(aead.Overhead()))
			})
		})
	}
	aead, err := chacha20poly1305.New(cek)
	if err != nil {
		return nil, err
	}
	return sealAEAD(aead, content, func(b *cryptobyte.Builder, nonce []byte) {
		b.AddASN1OctetString(nonce) // RFC 8103 section 2
	})
}

func sealCBC(spec *cipherSpec, cek, content []byte) (*sealedContent, error) {
	block, err := spec.newBlock(cek, 0)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	iv := make([]byte, bs)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	// RFC 5652 section 6.3: pad with n bytes of value n, 1 <= n <= bs.
	n := bs - len(content)%bs
	buf := make([]byte, len(content)+n)
	copy(buf, content)
	for i := len(content); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return &sealedContent{
		params:     func(b *cryptobyte.Builder) { b.AddASN1OctetString(iv) },
		ciphertext: buf,
	}, nil
}

func sealAEAD(aead cipher.AEAD, content []byte,
	params func(b *cryptobyte.Builder, nonce []byte)) (*sealedContent, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := aead.Seal(nil, nonce, content, nil)
	split := len(out) - aead.Overhead()
	return &sealedContent{
		params:     func(b *cryptobyte.Builder) { params(b, nonce) },
		ciphertext: out[:split],
		tag:        out[split:],
	}, nil
}

// marshal writes the ContentInfo (RFC 5652 section 3) around EnvelopedData
// (section 6.1) or AuthEnvelopedData (RFC 5083 section 2.1).
func (s *sealedContent) marshal(spec *cipherSpec, infos []func(*cryptobyte.Builder),
	version int64) ([]byte, error) {
	auth := spec.mode != modeCBC
	ctype := oidEnvelopedData
	if auth {
		ctype, version = oidAuthEnvelopedData, 0
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(ctype)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for _, info := range infos {
						info(b)
					}
				})
				s.addContentInfo(b, spec)
				if auth {
					b.AddASN1OctetString(s.tag)
				}
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	return der, nil
}

func (s *sealedContent) addContentInfo(b *cryptobyte.Builder, spec *cipherSpec) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(s.ctype)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(spec.oid)
			s.params(b)
		})
		b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes(s.ciphertext)
		})
	})
}

// keyTransInfo encrypts cek for an RSA key (RFC 5652 section 6.2.1).
func keyTransInfo(cek []byte, cert *x509.Certificate, pub *rsa.PublicKey,
	opts EncryptOptions) (func(*cryptobyte.Builder), error) {
	ek, alg, err := rsaEncryptKey(pub, cek, opts)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if opts.UseSKI {
				b.AddASN1Int64(2)
			} else {
				b.AddASN1Int64(0)
			}
			addRecipientID(b, cert, opts.UseSKI)
			b.AddASN1(cbasn1.SEQUENCE, alg)
			b.AddASN1OctetString(ek)
		})
	}, nil
}

// addRecipientID writes a RecipientIdentifier (RFC 5652 section 6.2.1).
func addRecipientID(b *cryptobyte.Builder, cert *x509.Certificate, ski bool) {
	if ski {
		b.AddASN1(tagSKI, func(b *cryptobyte.Builder) { b.AddBytes(subjectKeyID(cert)) })
		return
	}
	addIssuerSerial(b, cert)
}

func addIssuerSerial(b *cryptobyte.Builder, cert *x509.Certificate) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(cert.RawIssuer)
		b.AddASN1BigInt(cert.SerialNumber)
	})
}

func rsaEncryptKey(pub *rsa.PublicKey, cek []byte, opts EncryptOptions) (
	[]byte, func(*cryptobyte.Builder), error) {
	if !opts.OAEP {
		//lint:ignore SA1019 RFC 8551 still requires v1.5 for interoperability.
		ek, err := rsa.EncryptPKCS1v15(rand.Reader, pub, cek)
		return ek, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidRSAEncryption)
			b.AddASN1NULL()
		}, err
	}
	h, mgf := opts.OAEPHash, opts.OAEPMGFHash
	if h == 0 {
		h = crypto.SHA256
	}
	if mgf == 0 {
		mgf = crypto.SHA256
	}
	hOID, mgfOID := hashOID(h), hashOID(mgf)
	if hOID == nil || mgfOID == nil {
		return nil, nil, unsupported("oaep hash", h.String()+"/"+mgf.String())
	}
	oaep := &rsa.OAEPOptions{Hash: h, MGFHash: mgf}
	ek, err := rsa.EncryptOAEPWithOptions(rand.Reader, pub, cek, oaep)
	return ek, oaepAlgorithm(hOID, mgfOID), err
}

// oaepAlgorithm writes id-RSAES-OAEP with RSAES-OAEP-params naming both
// hashes explicitly (RFC 4055 section 4.1) and the default empty label.
func oaepAlgorithm(hOID, mgfOID asn1.ObjectIdentifier) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidRSAOAEP)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(hOID)
				})
			})
			b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidMGF1)
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(mgfOID)
					})
				})
			})
		})
	}
}
