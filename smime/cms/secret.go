package cms

import (
	"bytes"
	"crypto"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/subtle"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Recipients that hold a symmetric secret instead of a private key:
// KEKRecipientInfo (RFC 5652 section 6.2.3) with a key-encryption key
// agreed out of band, and PasswordRecipientInfo (RFC 3211) with a
// password.

// SecretKey is a key-encryption key for KEK recipients. ID is the
// keyIdentifier that messages name it by. It never prints the key.
type SecretKey struct {
	ID  []byte
	Key []byte
}

// String names the key by its identifier only.
func (k SecretKey) String() string { return fmt.Sprintf("cms.SecretKey(id=%x)", k.ID) }

// GoString keeps %#v from printing the key.
func (k SecretKey) GoString() string { return k.String() }

// Format applies String to every verb.
func (k SecretKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// PasswordKey is the secret of password recipients (RFC 3211). It never
// prints itself.
type PasswordKey []byte

// String hides the password.
func (PasswordKey) String() string { return "cms.PasswordKey(redacted)" }

// GoString keeps %#v from printing the password.
func (p PasswordKey) GoString() string { return p.String() }

// Format applies String to every verb.
func (p PasswordKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

var (
	oidPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA2s = []struct {
		oid  asn1.ObjectIdentifier
		hash crypto.Hash
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}, crypto.SHA224},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, crypto.SHA256},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}, crypto.SHA384},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}, crypto.SHA512},
	}
)

// DecryptWithSecret opens the envelope through the KEK recipient whose
// keyIdentifier is id, with the key-encryption key secret. Errors are as
// for Decrypt; ErrNoRecipient when no KEK entry carries id.
func (e *Envelope) DecryptWithSecret(id, secret []byte) (content []byte, err error) {
	defer guard(&err)
	return e.decryptMatches(e.kekRecipients(id), SecretKey{ID: id, Key: secret})
}

func (e *Envelope) kekRecipients(id []byte) []Recipient {
	var matches []Recipient
	for _, r := range e.Recipients {
		if r.Type == KEK && bytes.Equal(r.ID.KEKID, id) {
			matches = append(matches, r)
		}
	}
	return matches
}

func (e *Envelope) passwordRecipients() []Recipient {
	var matches []Recipient
	for _, r := range e.Recipients {
		if r.Type == Password {
			matches = append(matches, r)
		}
	}
	return matches
}

// DecryptWithPassword opens the envelope through its password
// recipients. A wrong password is ErrDecrypt; ErrNoRecipient when the
// envelope has no password recipient.
func (e *Envelope) DecryptWithPassword(password []byte) (content []byte, err error) {
	defer guard(&err)
	return e.decryptMatches(e.passwordRecipients(), passwordKey{password, e.maxIter})
}

// unwrapKEK unwraps the content key of a KEK recipient with AES key
// wrap (RFC 3565 section 2.3.1).
func unwrapKEK(r *Recipient, key crypto.PrivateKey, keyLen int) ([]byte, error) {
	sk, ok := key.(SecretKey)
	if !ok {
		return nil, unsupported("private key", fmt.Sprintf("%T for a KEK recipient", key))
	}
	n, err := wrapKeyLen(r.keyAlg)
	if err != nil {
		return nil, err
	}
	if len(sk.Key) != n {
		return nil, ErrDecrypt
	}
	return unwrapCEK(sk.Key, r.encryptedKey, keyLen)
}

// passwordKey is the password with the iteration limit of the envelope,
// as DecryptWithPassword hands it to unwrapPassword.
type passwordKey struct {
	password []byte
	maxIter  int
}

// String hides the password should the value ever be printed.
func (passwordKey) String() string { return "cms.passwordKey(redacted)" }

// pbkdf2Params is PBKDF2-params (RFC 8018 appendix A.2) as far as CMS
// uses it: a specified salt.
type pbkdf2Params struct {
	salt   []byte
	iter   int64
	keyLen int64 // 0 when absent
	prf    crypto.Hash
}

// unwrapPassword derives the key-encryption key from the password with
// PBKDF2 and unwraps the content key with id-alg-PWRI-KEK (RFC 3211
// sections 2.2 and 2.3).
func unwrapPassword(r *Recipient, key crypto.PrivateKey, keyLen int) ([]byte, error) {
	pw, ok := key.(passwordKey)
	if !ok {
		return nil, unsupported("private key", fmt.Sprintf("%T for a password recipient", key))
	}
	kdf, err := readPBKDF2(r.detail, pw.maxIter)
	if err != nil {
		return nil, err
	}
	kekCipher, err := pwriCipher(r.keyAlg)
	if err != nil {
		return nil, err
	}
	n := kekCipher.keyLen
	if kdf.keyLen != 0 && kdf.keyLen != int64(n) {
		return nil, ErrDecrypt
	}
	kek, err := pbkdf2.Key(kdf.prf.New, string(pw.password), kdf.salt, int(kdf.iter), n)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(kek)
	block, err := kekCipher.spec.newBlock(kek, kekCipher.rc2Bits)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pwriUnwrap(block, kekCipher.iv, r.encryptedKey, keyLen)
}

// readPBKDF2 reads keyDerivationAlgorithm, which must be PBKDF2.
func readPBKDF2(detail any, maxIter int) (pbkdf2Params, error) {
	p := pbkdf2Params{prf: crypto.SHA1}
	raw, ok := detail.([]byte)
	if !ok {
		return p, unsupported("password recipient", "no key derivation algorithm")
	}
	s := cryptobyte.String(raw)
	var oid asn1.ObjectIdentifier
	var seq cryptobyte.String
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return p, malformed("key derivation algorithm")
	}
	if !oid.Equal(oidPBKDF2) {
		return p, unsupported("key derivation", oidName(oid))
	}
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1Bytes(&p.salt, cbasn1.OCTET_STRING) || !seq.ReadASN1Integer(&p.iter) ||
		!seq.ReadOptionalASN1Integer(&p.keyLen, cbasn1.INTEGER, int64(0)) {
		return p, malformed("pbkdf2 parameters")
	}
	if p.iter < 1 || p.keyLen < 0 || p.keyLen > 64 {
		return p, malformed("pbkdf2 parameters")
	}
	if p.iter > int64(maxIter) {
		return p, overLimit("pbkdf2 iteration count %d", p.iter)
	}
	if seq.Empty() {
		return p, nil
	}
	prf, ok := readAlgorithm(&seq)
	if !ok || !seq.Empty() {
		return p, malformed("pbkdf2 prf")
	}
	return p, p.setPRF(prf)
}

func (p *pbkdf2Params) setPRF(prf algorithm) error {
	if prf.oid.Equal(oidHMACWithSHA1) {
		return nil
	}
	for _, h := range oidHMACWithSHA2s {
		if h.oid.Equal(prf.oid) {
			p.prf = h.hash
			return nil
		}
	}
	return unsupported("pbkdf2 prf", oidName(prf.oid))
}

// pwriCipher reads the parameters of id-alg-PWRI-KEK: the block cipher
// in CBC mode that wraps the key (RFC 3211 section 2.3).
func pwriCipher(alg algorithm) (*contentCipher, error) {
	if !alg.oid.Equal(oidPWRIKEK) {
		return nil, unsupported("key encryption", oidName(alg.oid))
	}
	s := cryptobyte.String(alg.params)
	inner, ok := readAlgorithm(&s)
	if !ok || !s.Empty() {
		return nil, malformed("pwri-kek parameters")
	}
	c, err := parseContentCipher(inner)
	if err != nil {
		return nil, err
	}
	if c.spec.mode != modeCBC {
		return nil, unsupported("pwri-kek cipher", c.name)
	}
	return c, nil
}

// pwriUnwrap reverses the double CBC encryption of RFC 3211 section
// 2.3.2 and checks the length octet and check value of the formatted key.
func pwriUnwrap(block cipher.Block, iv, wrapped []byte, keyLen int) ([]byte, error) {
	bs := block.BlockSize()
	n := len(wrapped)
	if len(iv) != bs || n < 2*bs || n%bs != 0 {
		return nil, ErrDecrypt
	}
	tmp := make([]byte, n)
	defer clear(tmp)
	// The last block, decrypted with the one before it as IV, is the IV
	// of the first pass over blocks 1..n-1.
	last := tmp[n-bs:]
	block.Decrypt(last, wrapped[n-bs:])
	subtle.XORBytes(last, last, wrapped[n-2*bs:n-bs])
	cipher.NewCBCDecrypter(block, last).CryptBlocks(tmp[:n-bs], wrapped[:n-bs])
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(tmp, tmp)

	// RFC 3211 section 2.3.1: length, three check bytes (the complement
	// of the key's first three), key, padding.
	check := (tmp[1] ^ tmp[4]) & (tmp[2] ^ tmp[5]) & (tmp[3] ^ tmp[6])
	good := subtle.ConstantTimeByteEq(check, 0xff) &
		subtle.ConstantTimeEq(int32(tmp[0]), int32(keyLen))
	if good != 1 || keyLen+4 > n {
		return nil, ErrDecrypt
	}
	return append([]byte(nil), tmp[4:4+keyLen]...), nil
}
