package cms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // hashes named by RSA-OAEP parameters
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// unwrapFunc recovers the content-encryption key of one recipient entry
// with the caller's private key. keyLen is the key length the content
// cipher needs. A cryptographic failure is ErrDecrypt, or, where telling
// failures apart would make an oracle, a random key of keyLen bytes so
// that the failure surfaces at the content layer like any other.
type unwrapFunc func(r *Recipient, key crypto.PrivateKey, keyLen int) ([]byte, error)

// unwrappers holds one function per recipient type.
var unwrappers = map[RecipientType]unwrapFunc{
	KeyTrans: unwrapKeyTrans,
	KeyAgree: unwrapKeyAgree,
	KEK:      unwrapKEK,
	Password: unwrapPassword,
	KEM:      unwrapKEM,
}

// hashes maps digest OIDs to their stable names and Go hashes.
var hashes = []struct {
	oid  asn1.ObjectIdentifier
	name string
	hash crypto.Hash
}{
	{oidSHA1, "sha1", crypto.SHA1},
	{oidSHA224, "sha224", crypto.SHA224},
	{oidSHA256, "sha256", crypto.SHA256},
	{oidSHA384, "sha384", crypto.SHA384},
	{oidSHA512, "sha512", crypto.SHA512},
}

func hashByOID(oid asn1.ObjectIdentifier) (string, crypto.Hash, bool) {
	for _, h := range hashes {
		if h.oid.Equal(oid) {
			return h.name, h.hash, true
		}
	}
	return "", 0, false
}

// keyTransName names a key transport algorithm. ok is false when the
// parameters of a known algorithm are broken.
func keyTransName(alg algorithm) (name string, ok bool) {
	switch {
	case alg.oid.Equal(oidRSAEncryption):
		return "rsa-pkcs1v15", true
	case alg.oid.Equal(oidRSAOAEP):
		_, name, err := parseOAEPParams(alg.params)
		if isUnsupported(err) {
			// Listed, so that Decrypt can say which hash is missing.
			return "rsa-oaep", true
		}
		return name, err == nil
	}
	return oidName(alg.oid), true
}

// parseOAEPParams reads RSAES-OAEP-params (RFC 3560 section 3, RFC 4055
// section 4.1). Absent fields take the defaults: SHA-1, MGF1 with SHA-1,
// and an empty label.
func parseOAEPParams(der []byte) (*rsa.OAEPOptions, string, error) {
	opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
	hashName, mgfName := "sha1", "sha1"
	var seq cryptobyte.String
	in := cryptobyte.String(der)
	if len(der) == 0 || in.PeekASN1Tag(cbasn1.NULL) {
		return opts, "rsa-oaep-sha1", nil
	}
	bad := malformed("rsa-oaep parameters")
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, "", bad
	}
	var err error
	if alg, present, ok := readTagged(&seq, 0); !ok {
		return nil, "", bad
	} else if present {
		if hashName, opts.Hash, err = oaepHash(alg); err != nil {
			return nil, "", err
		}
	}
	if alg, present, ok := readTagged(&seq, 1); !ok {
		return nil, "", bad
	} else if present {
		if mgfName, opts.MGFHash, err = mgf1Hash(alg); err != nil {
			return nil, "", err
		}
	}
	if alg, present, ok := readTagged(&seq, 2); !ok || !seq.Empty() {
		return nil, "", bad
	} else if present {
		if opts.Label, err = oaepLabel(alg); err != nil {
			return nil, "", err
		}
	}
	name := "rsa-oaep-" + hashName
	if mgfName != hashName {
		name += "-mgf1-" + mgfName
	}
	return opts, name, nil
}

// readTagged reads an optional [n] EXPLICIT AlgorithmIdentifier.
func readTagged(s *cryptobyte.String, n int) (algorithm, bool, bool) {
	var inner cryptobyte.String
	var present bool
	tag := cbasn1.Tag(n).ContextSpecific().Constructed()
	if !s.ReadOptionalASN1(&inner, &present, tag) {
		return algorithm{}, false, false
	}
	if !present {
		return algorithm{}, false, true
	}
	alg, ok := readAlgorithm(&inner)
	return alg, true, ok && inner.Empty()
}

func oaepHash(alg algorithm) (string, crypto.Hash, error) {
	name, h, ok := hashByOID(alg.oid)
	if !ok {
		return "", 0, unsupported("oaep hash", oidName(alg.oid))
	}
	return name, h, nil
}

func mgf1Hash(alg algorithm) (string, crypto.Hash, error) {
	if !alg.oid.Equal(oidMGF1) {
		return "", 0, unsupported("oaep mask generation", oidName(alg.oid))
	}
	s := cryptobyte.String(alg.params)
	inner, ok := readAlgorithm(&s)
	if !ok || !s.Empty() {
		return "", 0, malformed("mgf1 parameters")
	}
	return oaepHash(inner)
}

func oaepLabel(alg algorithm) ([]byte, error) {
	if !alg.oid.Equal(oidPSpecified) {
		return nil, unsupported("oaep label source", oidName(alg.oid))
	}
	s := cryptobyte.String(alg.params)
	var label []byte
	if !s.ReadASN1Bytes(&label, cbasn1.OCTET_STRING) || !s.Empty() {
		return nil, malformed("oaep label")
	}
	return label, nil
}

// rsaDecrypter accepts *rsa.PrivateKey and any crypto.Decrypter (an HSM
// or a vault handle) whose public key is RSA.
func rsaDecrypter(key crypto.PrivateKey) (crypto.Decrypter, error) {
	dec, ok := key.(crypto.Decrypter)
	if !ok {
		return nil, unsupported("private key", fmt.Sprintf("%T", key))
	}
	if _, ok := dec.Public().(*rsa.PublicKey); !ok {
		return nil, unsupported("private key", "non-RSA key for RSA key transport")
	}
	return dec, nil
}

// unwrapKeyTrans decrypts a KeyTransRecipientInfo (RFC 5652 section 6.2.1).
func unwrapKeyTrans(r *Recipient, key crypto.PrivateKey, keyLen int) ([]byte, error) {
	dec, err := rsaDecrypter(key)
	if err != nil {
		return nil, err
	}
	switch {
	case r.keyAlg.oid.Equal(oidRSAEncryption):
		return unwrapPKCS1v15(dec, r.encryptedKey, keyLen)
	case r.keyAlg.oid.Equal(oidRSAOAEP):
		opts, _, err := parseOAEPParams(r.keyAlg.params)
		if err != nil {
			return nil, err
		}
		cek, err := dec.Decrypt(rand.Reader, r.encryptedKey, opts)
		if err != nil {
			return nil, ErrDecrypt
		}
		return cek, nil
	}
	return nil, unsupported("key transport", r.KeyAlgorithm)
}

// unwrapPKCS1v15 decrypts an RSAES-PKCS1-v1_5 key (RFC 3370 section 4.2.1)
// without a Bleichenbacher oracle: with SessionKeyLen, crypto/rsa returns
// a random key in constant time when the padding is wrong. A Decrypter
// that ignores SessionKeyLen and fails, or returns a key of another
// length, gets the same treatment here.
func unwrapPKCS1v15(dec crypto.Decrypter, ek []byte, keyLen int) ([]byte, error) {
	//lint:ignore SA1019 receiving v1.5 is still required (RFC 8551 section 2.3).
	opts := &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}
	cek, err := dec.Decrypt(rand.Reader, ek, opts)
	if err == nil && len(cek) == keyLen {
		return cek, nil
	}
	cek = make([]byte, keyLen)
	if _, err := rand.Read(cek); err != nil {
		return nil, ErrDecrypt
	}
	return cek, nil
}

func hashOID(h crypto.Hash) asn1.ObjectIdentifier {
	for _, e := range hashes {
		if e.hash == h {
			return e.oid
		}
	}
	return nil
}
