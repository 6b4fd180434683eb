package keystore

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"unicode/utf16"
)

// When a PKCS#12 file must be rewritten before go-pkcs12 can read it (BER,
// several keys), its MAC is checked here, over the original bytes, since
// the rewritten file no longer matches it. RFC 7292 section 5 and
// appendix B define the MAC and its key derivation.

// p12MacIn is MacData as found in files (iterations default to 1).
type p12MacIn struct {
	Mac        p12DigestInfo
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// maxMacIterations bounds the work a crafted file can ask for.
const maxMacIterations = 1 << 22

// verifyP12Mac checks the MAC of authSafe content under password and
// returns ErrBadPassword when it does not match.
func verifyP12Mac(macDER []byte, content []byte, password string) error {
	var md p12MacIn
	if err := unmarshalAll(macDER, &md); err != nil {
		return fmt.Errorf("%w: MacData: %w", ErrPKCS12, err)
	}
	newHash, v, err := macHash(md.Mac.Algorithm)
	if err != nil {
		return err
	}
	if md.Iterations < 1 || md.Iterations > maxMacIterations {
		return fmt.Errorf("%w: MAC iteration count %d", ErrPKCS12, md.Iterations)
	}
	size := newHash().Size()
	for _, pw := range macPasswords(password) {
		key := p12KDF(newHash, v, md.MacSalt, pw, md.Iterations, 3, size)
		h := hmac.New(newHash, key)
		h.Write(content)
		if hmac.Equal(h.Sum(nil), md.Mac.Digest) {
			return nil
		}
	}
	return ErrBadPassword
}

// macHash maps the MAC digest algorithm to the hash and its block size.
// TODO(pkcs12-pbmac1): PBMAC1 (RFC 9579) files that also need rewriting
// are refused; OpenSSL writes PBMAC1 only on request.
func macHash(alg pkix.AlgorithmIdentifier) (func() hash.Hash, int, error) {
	switch {
	case alg.Algorithm.Equal(oidSHA1):
		return sha1.New, 64, nil
	case alg.Algorithm.Equal(oidSHA256):
		return sha256.New, 64, nil
	case alg.Algorithm.Equal(oidSHA384):
		return sha512.New384, 128, nil
	case alg.Algorithm.Equal(oidSHA512):
		return sha512.New, 128, nil
	}
	return nil, 0, fmt.Errorf("%w: MAC algorithm %s not supported", ErrPKCS12, alg.Algorithm)
}

// macPasswords returns the password as RFC 7292 appendix B.1 encodes it:
// a BMPString with two terminating zero bytes. For the empty password
// some writers use no bytes at all, so both are tried.
func macPasswords(password string) [][]byte {
	units := utf16.Encode([]rune(password))
	pw := make([]byte, 0, 2*len(units)+2)
	for _, u := range units {
		pw = append(pw, byte(u>>8), byte(u))
	}
	pw = append(pw, 0, 0)
	if password == "" {
		return [][]byte{pw, nil}
	}
	return [][]byte{pw}
}

// p12KDF is the PKCS#12 key derivation, RFC 7292 appendix B.2, for hash
// newHash with block size v, diversifier id and output length n.
func p12KDF(newHash func() hash.Hash, v int, salt, password []byte, rounds int,
	id byte, n int) []byte {
	d := make([]byte, v)
	for i := range d {
		d[i] = id
	}
	ib := append(fillBlocks(salt, v), fillBlocks(password, v)...)
	var out []byte
	for len(out) < n {
		a := append(append([]byte{}, d...), ib...)
		for range rounds {
			h := newHash()
			h.Write(a)
			a = h.Sum(nil)
		}
		out = append(out, a...)
		b := fillBlocks(a, v)
		for j := 0; j < len(ib); j += v {
			addOne(ib[j:j+v], b)
		}
	}
	return out[:n]
}

// fillBlocks repeats s to the next multiple of v bytes (empty stays empty).
func fillBlocks(s []byte, v int) []byte {
	if len(s) == 0 {
		return nil
	}
	out := make([]byte, v*((len(s)+v-1)/v))
	for i := range out {
		out[i] = s[i%len(s)]
	}
	return out
}

// addOne sets block = (block + b + 1) mod 2^(8 len(block)).
func addOne(block, b []byte) {
	carry := 1
	for i := len(block) - 1; i >= 0; i-- {
		sum := int(block[i]) + int(b[i]) + carry
		block[i], carry = byte(sum), sum>>8
	}
}
