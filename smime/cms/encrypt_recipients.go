package cms

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// EncryptRecipient is one recipient for EncryptFor. Set Certificate (with
// PublicKey when Go cannot read the key from it), or KEKID and KEK, or
// Password.
type EncryptRecipient struct {
	// Certificate names the recipient by issuer and serial number (or
	// subjectKeyIdentifier with EncryptOptions.UseSKI) and holds its key:
	// RSA for key transport, ECDSA P-256/384/521 for key agreement.
	Certificate *x509.Certificate
	// PublicKey, when set, is used instead of the certificate's key:
	// *ecdh.PublicKey for X25519 key agreement (RFC 8418) or a
	// crypto.Encapsulator (ML-KEM-768/1024) for a KEM recipient (RFC 9629).
	PublicKey crypto.PublicKey
	// KEKID and KEK make a KEK recipient (RFC 5652 section 6.2.3); KEK is
	// 16, 24 or 32 bytes and selects the AES key wrap.
	KEKID, KEK []byte
	// Password makes a password recipient (RFC 3211).
	Password []byte
}

// String names the recipient without its secrets.
func (r EncryptRecipient) String() string {
	switch {
	case r.Certificate != nil:
		return "recipient " + r.Certificate.Subject.String()
	case r.KEK != nil:
		return fmt.Sprintf("kek recipient %x", r.KEKID)
	}
	return "password recipient"
}

// GoString keeps %#v from printing secrets.
func (r EncryptRecipient) GoString() string { return r.String() }

// Format applies String to every verb.
func (r EncryptRecipient) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// riInfo writes one RecipientInfo; version is what it makes the EnvelopedData version
// (RFC 5652 section 6.1): 0, 2, or 3 for pwri and ori.
type riInfo struct {
	write   func(*cryptobyte.Builder)
	version int64
}

// encryptKeys makes one RecipientInfo per recipient and returns the
// EnvelopedData version they call for.
func encryptKeys(cek []byte, rs []EncryptRecipient, opts EncryptOptions) (
	[]func(*cryptobyte.Builder), int64, error) {
	var infos []func(*cryptobyte.Builder)
	version := int64(0)
	for _, r := range rs {
		info, err := recipientInfo(cek, r, opts)
		if err != nil {
			return nil, 0, err
		}
		infos = append(infos, info.write)
		version = max(version, info.version)
	}
	return infos, version, nil
}

func recipientInfo(cek []byte, r EncryptRecipient, opts EncryptOptions) (riInfo, error) {
	switch {
	case r.KEK != nil:
		w, err := kekInfo(cek, r.KEKID, r.KEK)
		return riInfo{w, 2}, err
	case r.Password != nil:
		w, err := pwriInfo(cek, r.Password, opts)
		return riInfo{w, 3}, err
	case r.Certificate == nil:
		return riInfo{}, errors.New("cms: encrypt: recipient without certificate or secret")
	}
	pub := r.PublicKey
	if pub == nil {
		pub = r.Certificate.PublicKey
	}
	if pub == nil {
		if k, err := CertificateECDHKey(r.Certificate); err == nil {
			pub = k
		}
	}
	v := int64(2)
	if !opts.UseSKI {
		v = 0
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		w, err := keyTransInfo(cek, r.Certificate, k, opts)
		return riInfo{w, v}, err
	case *ecdsa.PublicKey:
		ek, err := k.ECDH()
		if err != nil {
			return riInfo{}, unsupported("recipient key for Encrypt", k.Curve.Params().Name)
		}
		w, err := kariInfo(cek, r.Certificate, ek, opts)
		return riInfo{w, 2}, err
	case *ecdh.PublicKey:
		w, err := kariInfo(cek, r.Certificate, k, opts)
		return riInfo{w, 2}, err
	case crypto.Encapsulator:
		w, err := kemInfo(cek, r.Certificate, k, opts)
		return riInfo{w, 3}, err
	}
	return riInfo{}, unsupported("recipient key for Encrypt", fmt.Sprintf("%T", pub))
}

// wrapFor picks the AES key wrap whose strength matches the key size.
func wrapFor(n int) algorithm {
	switch {
	case n <= 16:
		return algorithm{oid: oidAES128Wrap}
	case n <= 24:
		return algorithm{oid: oidAES192Wrap}
	}
	return algorithm{oid: oidAES256Wrap}
}

// agreeOID names the key agreement scheme for the curve and options.
func agreeOID(curve ecdh.Curve, opts EncryptOptions) (asn1.ObjectIdentifier, crypto.Hash, error) {
	h := opts.KDFHash
	if h == 0 {
		h = crypto.SHA256
	}
	if curve == ecdh.X25519() {
		for _, s := range []struct {
			oid asn1.ObjectIdentifier
			h   crypto.Hash
		}{{oidDHHKDFSHA256, crypto.SHA256}, {oidDHHKDFSHA384, crypto.SHA384},
			{oidDHHKDFSHA512, crypto.SHA512}} {
			if s.h == h {
				return s.oid, h, nil
			}
		}
		return nil, 0, unsupported("hkdf hash", h.String())
	}
	prefix, sha1OID := oidSECGStdDHPrefix, oidDHStdSHA1KDF
	if opts.Cofactor {
		prefix, sha1OID = oidSECGCofactorDHPrefix, oidDHCofactorSHA1KDF
	}
	if h == crypto.SHA1 {
		return sha1OID, h, nil
	}
	for i, kh := range kdfHashes {
		if kh == h {
			return append(append(asn1.ObjectIdentifier{}, prefix...), i), h, nil
		}
	}
	return nil, 0, unsupported("x9.63 kdf hash", h.String())
}

// kariInfo makes a KeyAgreeRecipientInfo with a fresh ephemeral key
// (RFC 5753 section 3.1.1, RFC 8418 section 2).
func kariInfo(cek []byte, cert *x509.Certificate, pub *ecdh.PublicKey,
	opts EncryptOptions) (func(*cryptobyte.Builder), error) {
	oid, _, err := agreeOID(pub.Curve(), opts)
	if err != nil {
		return nil, err
	}
	eph, err := pub.Curve().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	z, err := eph.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	defer clear(z)
	wrap := wrapFor(len(cek))
	kekLen, _ := wrapKeyLen(wrap)
	scheme, _ := agreeSchemeFor(oid)
	kek, err := deriveKEK(scheme, z, sharedInfo(wrap, opts.UKM, kekLen), opts.UKM, kekLen)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	defer clear(kek)
	ek, err := aesWrap(kek, cek)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	return func(b *cryptobyte.Builder) {
		b.AddASN1(tagKARI, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(3)
			addOriginatorKey(b, eph.PublicKey())
			if opts.UKM != nil {
				ukm := cbasn1.Tag(1).ContextSpecific().Constructed()
				b.AddASN1(ukm, func(b *cryptobyte.Builder) { b.AddASN1OctetString(opts.UKM) })
			}
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
				addAlgorithm(b, wrap)
			})
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addEncryptedKey(b, cert, ek, opts.UseSKI)
			})
		})
	}, nil
}

// addOriginatorKey writes originator [0] with the [1] OriginatorPublicKey
// choice; id-ecPublicKey without parameters means the recipient's curve.
func addOriginatorKey(b *cryptobyte.Builder, pub *ecdh.PublicKey) {
	alg := oidECPublicKey
	if pub.Curve() == ecdh.X25519() {
		alg = oidX25519
	}
	b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(alg)
			})
			b.AddASN1BitString(pub.Bytes())
		})
	})
}

// addEncryptedKey writes RecipientEncryptedKey with issuerAndSerialNumber
// or [0] RecipientKeyIdentifier.
func addEncryptedKey(b *cryptobyte.Builder, cert *x509.Certificate, ek []byte, ski bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if ski {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(subjectKeyID(cert))
			})
		} else {
			addIssuerSerial(b, cert)
		}
		b.AddASN1OctetString(ek)
	})
}

// kekInfo makes a KEKRecipientInfo (RFC 5652 section 6.2.3).
func kekInfo(cek, id, kek []byte) (func(*cryptobyte.Builder), error) {
	wrap := wrapFor(len(kek))
	if n, _ := wrapKeyLen(wrap); n != len(kek) {
		return nil, errors.New("cms: encrypt: KEK must be 16, 24 or 32 bytes")
	}
	ek, err := aesWrap(kek, cek)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	return func(b *cryptobyte.Builder) {
		b.AddASN1(tagKEKRI, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(4)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1OctetString(id) })
			addAlgorithm(b, wrap)
			b.AddASN1OctetString(ek)
		})
	}, nil
}

// pwriInfo makes a PasswordRecipientInfo: PBKDF2 with HMAC-SHA256 and
// id-alg-PWRI-KEK with AES-256-CBC (RFC 3211 section 2).
func pwriInfo(cek, password []byte, opts EncryptOptions) (func(*cryptobyte.Builder), error) {
	iter := opts.PBKDF2Iterations
	if iter == 0 {
		iter = 2048
	}
	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	kek, err := pbkdf2.Key(sha256.New, string(password), salt, iter, 32)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	defer clear(kek)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	ek := pwriWrap(block, iv, cek)
	return func(b *cryptobyte.Builder) {
		b.AddASN1(tagPWRI, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidPBKDF2)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(salt)
					b.AddASN1Int64(int64(iter))
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidHMACWithSHA2s[1].oid)
						b.AddASN1NULL()
					})
				})
			})
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidPWRIKEK)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidAES256CBC)
					b.AddASN1OctetString(iv)
				})
			})
			b.AddASN1OctetString(ek)
		})
	}, nil
}

// pwriWrap formats the key (length, check value, key, random padding to
// at least two blocks) and encrypts it twice in CBC, the second pass
// chained on from the first (RFC 3211 section 2.3.1).
func pwriWrap(block cipher.Block, iv, key []byte) []byte {
	bs := block.BlockSize()
	n := max(2*bs, (len(key)+4+bs-1)/bs*bs)
	buf := make([]byte, n)
	rand.Read(buf)
	buf[0] = byte(len(key))
	buf[1], buf[2], buf[3] = ^key[0], ^key[1], ^key[2]
	copy(buf[4:], key)
	enc := cipher.NewCBCEncrypter(block, iv)
	enc.CryptBlocks(buf, buf)
	enc.CryptBlocks(buf, buf)
	return buf
}

// kemInfo makes an OtherRecipientInfo with a KEMRecipientInfo (RFC 9629
// section 3): ML-KEM (RFC 9936), HKDF-SHA256 and AES-256 key wrap.
func kemInfo(cek []byte, cert *x509.Certificate, enc crypto.Encapsulator,
	opts EncryptOptions) (func(*cryptobyte.Builder), error) {
	var kemOID asn1.ObjectIdentifier
	switch len(enc.Bytes()) {
	case 1184:
		kemOID = oidMLKEM768
	case 1568:
		kemOID = oidMLKEM1024
	default:
		return nil, unsupported("kem for Encrypt", fmt.Sprintf("%T", enc))
	}
	ss, ct := enc.Encapsulate()
	defer clear(ss)
	wrap := algorithm{oid: oidAES256Wrap}
	kek, err := hkdf.Key(sha256.New, ss, nil, string(kemOtherInfo(wrap, 32, opts.UKM)), 32)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	defer clear(kek)
	ek, err := aesWrap(kek, cek)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	return func(b *cryptobyte.Builder) {
		b.AddASN1(tagORI, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidOriKEM)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(0)
				addRecipientID(b, cert, opts.UseSKI)
				addAlgorithm(b, algorithm{oid: kemOID})
				b.AddASN1OctetString(ct)
				addAlgorithm(b, algorithm{oid: oidHKDFSHA256})
				b.AddASN1Int64(32)
				if opts.UKM != nil {
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(),
						func(b *cryptobyte.Builder) { b.AddASN1OctetString(opts.UKM) })
				}
				addAlgorithm(b, wrap)
				b.AddASN1OctetString(ek)
			})
		})
	}, nil
}

// compressedData encodes content as CompressedData (RFC 3274 section
// 1.1) with zlib.
func compressedData(content []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content)
	zw.Close()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		addAlgorithm(b, algorithm{oid: oidZlib})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidData)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(z.Bytes())
			})
		})
	})
	return b.BytesOrPanic()
}

// Compress writes content as a DER ContentInfo holding CompressedData
// (RFC 3274), the inverse of Decompress, for the demo and tests.
func Compress(content []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidCompressedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddBytes(compressedData(content))
		})
	})
	return b.BytesOrPanic()
}
