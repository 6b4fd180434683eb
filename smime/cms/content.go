package cms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/asn1"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// cipherMode is how a content cipher uses its key and parameters.
type cipherMode int

const (
	modeCBC  cipherMode = iota + 1 // block cipher in CBC with PKCS #7 padding
	modeGCM                        // AES-GCM, RFC 5084 section 3.2
	modeAEAD                       // ChaCha20-Poly1305, RFC 8103
)

// cipherSpec is one content-encryption algorithm.
type cipherSpec struct {
	oid    asn1.ObjectIdentifier
	name   string
	keyLen int
	mode   cipherMode
	// newBlock makes the block cipher; bits is the RC2 effective key size.
	newBlock func(key []byte, bits int) (cipher.Block, error)
}

func newAES(key []byte, _ int) (cipher.Block, error) { return aes.NewCipher(key) }
func newDES(key []byte, _ int) (cipher.Block, error) { return des.NewCipher(key) }
func newDES3(key []byte, _ int) (cipher.Block, error) {
	return des.NewTripleDESCipher(key)
}
func newRC2(key []byte, bits int) (cipher.Block, error) { return newRC2Block(key, bits) }

var cipherSpecs = []cipherSpec{
	{oidAES128CBC, "aes-128-cbc", 16, modeCBC, newAES},
	{oidAES192CBC, "aes-192-cbc", 24, modeCBC, newAES},
	{oidAES256CBC, "aes-256-cbc", 32, modeCBC, newAES},
	{oidAES128GCM, "aes-128-gcm", 16, modeGCM, newAES},
	{oidAES192GCM, "aes-192-gcm", 24, modeGCM, newAES},
	{oidAES256GCM, "aes-256-gcm", 32, modeGCM, newAES},
	{oidDESEDE3CBC, "des-ede3-cbc", 24, modeCBC, newDES3},
	{oidDESCBC, "des-cbc", 8, modeCBC, newDES},
	{oidRC2CBC, "rc2-cbc", 16, modeCBC, newRC2},
	{oidChaCha20Poly1305, "chacha20-poly1305", 32, modeAEAD, nil},
}

func cipherByOID(oid asn1.ObjectIdentifier) *cipherSpec {
	for i := range cipherSpecs {
		if cipherSpecs[i].oid.Equal(oid) {
			return &cipherSpecs[i]
		}
	}
	return nil
}

func cipherByName(name string) *cipherSpec {
	for i := range cipherSpecs {
		if cipherSpecs[i].name == name {
			return &cipherSpecs[i]
		}
	}
	return nil
}

// contentCipher is a content-encryption algorithm with its parameters.
type contentCipher struct {
	spec    *cipherSpec
	name    string
	keyLen  int
	iv      []byte // IV (CBC) or nonce (AEAD)
	tagLen  int    // AEAD tag length
	rc2Bits int    // RC2 effective key bits
}

// parseContentCipher reads the parameters of a content-encryption
// algorithm. An unknown algorithm gives a cipher with only a name and an
// *UnsupportedError; bad parameters of a known one are ErrMalformed.
func parseContentCipher(alg algorithm) (*contentCipher, error) {
	spec := cipherByOID(alg.oid)
	if spec == nil {
		name := "oid:" + alg.oid.String()
		return &contentCipher{name: name}, unsupported("content cipher", name)
	}
	c := &contentCipher{spec: spec, name: spec.name, keyLen: spec.keyLen}
	params := cryptobyte.String(alg.params)
	var ok bool
	switch {
	case spec.mode == modeGCM:
		ok = c.readGCMParams(params)
	case spec.newBlock == nil: // RFC 8103 section 2: the nonce alone
		c.tagLen = chacha20poly1305.Overhead
		ok = params.ReadASN1Bytes(&c.iv, cbasn1.OCTET_STRING) && params.Empty() &&
			len(c.iv) == chacha20poly1305.NonceSize
	case spec.name == "rc2-cbc":
		return c, c.readRC2Params(params)
	default: // RFC 3565 section 4.1, RFC 3370 section 5.1: the IV
		ok = params.ReadASN1Bytes(&c.iv, cbasn1.OCTET_STRING) && params.Empty()
	}
	if !ok {
		return c, malformed(spec.name + " parameters")
	}
	return c, nil
}

// readGCMParams reads GCMParameters (RFC 5084 section 3.2): the nonce and
// the ICV length, 12 when absent.
func (c *contentCipher) readGCMParams(params cryptobyte.String) bool {
	var seq cryptobyte.String
	icv := int64(12)
	if !params.ReadASN1(&seq, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Bytes(&c.iv, cbasn1.OCTET_STRING) {
		return false
	}
	if seq.PeekASN1Tag(cbasn1.INTEGER) && !seq.ReadASN1Integer(&icv) {
		return false
	}
	if !seq.Empty() || !params.Empty() {
		return false
	}
	c.tagLen = int(icv)
	return icv >= 12 && icv <= 16 && len(c.iv) > 0
}

// readRC2Params reads RC2-CBCParameter (RFC 2268 section 6, RFC 3370
// section 5.2): a version that encodes the effective key bits, and the IV.
func (c *contentCipher) readRC2Params(params cryptobyte.String) error {
	version := int64(-1)
	var seq cryptobyte.String
	if params.PeekASN1Tag(cbasn1.OCTET_STRING) {
		seq = params
	} else if !params.ReadASN1(&seq, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Integer(&version) {
		return malformed("rc2-cbc parameters")
	}
	if !seq.ReadASN1Bytes(&c.iv, cbasn1.OCTET_STRING) || !seq.Empty() {
		return malformed("rc2-cbc parameters")
	}
	bits := rc2EffectiveBits(version)
	if bits < 0 {
		c.name = "rc2-cbc"
		return unsupported("content cipher", c.name)
	}
	c.rc2Bits = bits
	c.keyLen = (bits + 7) / 8
	c.name = "rc2-cbc-" + itoa(bits)
	return nil
}

// rc2EffectiveBits maps rc2ParameterVersion to effective key bits
// (RFC 2268 section 6). Versions 256 and above are the bits themselves;
// smaller ones are looked up in the RFC's table. Without a version, the
// RFC says 32 bits. It returns -1 for a version no key size maps to.
func rc2EffectiveBits(version int64) int {
	switch {
	case version < 0:
		return 32
	case version >= 256:
		if version > 1024 {
			return -1
		}
		return int(version)
	}
	for bits, v := range rc2VersionTable {
		if int64(v) == version {
			if bits == 0 {
				return -1 // zero effective bits is not a key size
			}
			return bits
		}
	}
	return -1
}

// rc2VersionTable is the effective-key-bits to version table of RFC 2268
// section 6: rc2VersionTable[bits] is the version for bits < 256.
var rc2VersionTable = [256]byte{
	0xbd, 0x56, 0xea, 0xf2, 0xa2, 0xf1, 0xac, 0x2a, 0xb0, 0x93, 0xd1, 0x9c, 0x1b, 0x33, 0xfd, 0xd0,
	0x30, 0x04, 0xb6, 0xdc, 0x7d, 0xdf, 0x32, 0x4b, 0xf7, 0xcb, 0x45, 0x9b, 0x31, 0xbb, 0x21, 0x5a,
	0x41, 0x9f, 0xe1, 0xd9, 0x4a, 0x4d, 0x9e, 0xda, 0xa0, 0x68, 0x2c, 0xc3, 0x27, 0x5f, 0x80, 0x36,
	0x3e, 0xee, 0xfb, 0x95, 0x1a, 0xfe, 0xce, 0xa8, 0x34, 0xa9, 0x13, 0xf0, 0xa6, 0x3f, 0xd8, 0x0c,
	0x78, 0x24, 0xaf, 0x23, 0x52, 0xc1, 0x67, 0x17, 0xf5, 0x66, 0x90, 0xe7, 0xe8, 0x07, 0xb8, 0x60,
	0x48, 0xe6, 0x1e, 0x53, 0xf3, 0x92, 0xa4, 0x72, 0x8c, 0x08, 0x15, 0x6e, 0x86, 0x00, 0x84, 0xfa,
	0xf4, 0x7f, 0x8a, 0x42, 0x19, 0xf6, 0xdb, 0xcd, 0x14, 0x8d, 0x50, 0x12, 0xba, 0x3c, 0x06, 0x4e,
	0xec, 0xb3, 0x35, 0x11, 0xa1, 0x88, 0x8e, 0x2b, 0x94, 0x99, 0xb7, 0x71, 0x74, 0xd3, 0xe4, 0xbf,
	0x3a, 0xde, 0x96, 0x0e, 0xbc, 0x0a, 0xed, 0x77, 0xfc, 0x37, 0x6b, 0x03, 0x79, 0x89, 0x62, 0xc6,
	0xd7, 0xc0, 0xd2, 0x7c, 0x6a, 0x8b, 0x22, 0xa3, 0x5b, 0x05, 0x5d, 0x02, 0x75, 0xd5, 0x61, 0xe3,
	0x18, 0x8f, 0x55, 0x51, 0xad, 0x1f, 0x0b, 0x5e, 0x85, 0xe5, 0xc2, 0x57, 0x63, 0xca, 0x3d, 0x6c,
	0xb4, 0xc5, 0xcc, 0x70, 0xb2, 0x91, 0x59, 0x0d, 0x47, 0x20, 0xc8, 0x4f, 0x58, 0xe0, 0x01, 0xe2,
	0x16, 0x38, 0xc4, 0x6f, 0x3b, 0x0f, 0x65, 0x46, 0xbe, 0x7e, 0x2d, 0x7b, 0x82, 0xf9, 0x40, 0xb5,
	0x1d, 0x73, 0xf8, 0xeb, 0x26, 0xc7, 0x87, 0x97, 0x25, 0x54, 0xb1, 0x28, 0xaa, 0x98, 0x9d, 0xa5,
	0x64, 0x6d, 0x7a, 0xd4, 0x10, 0x81, 0x44, 0xef, 0x49, 0xd6, 0xae, 0x2e, 0xdd, 0x76, 0x5c, 0x2f,
	0xa7, 0x1c, 0xc9, 0x09, 0x69, 0x9a, 0x83, 0xcf, 0x29, 0x39, 0xb9, 0xe9, 0x4c, 0xff, 0x43, 0xab,
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// decrypt decrypts src into dst (len(src) bytes; dst may be src) with
// key and returns the plaintext, a prefix of dst. For AEAD modes src ends
// with the tag and aad is the additional data. Every failure is
// ErrDecrypt, and dst is wiped then.
func (c *contentCipher) decrypt(key, dst, src, aad []byte) ([]byte, error) {
	out, ok := c.open(key, dst, src, aad)
	if !ok {
		clear(dst)
		return nil, ErrDecrypt
	}
	return out, nil
}

func (c *contentCipher) open(key, dst, src, aad []byte) ([]byte, bool) {
	if len(key) != c.keyLen || len(dst) < len(src) {
		return nil, false
	}
	if c.spec.mode == modeAEAD {
		aead, err := chacha20poly1305.New(key)
		return openAEAD(aead, err, c.iv, dst, src, aad)
	}
	block, err := c.spec.newBlock(key, c.rc2Bits)
	if err != nil {
		return nil, false
	}
	if c.spec.mode == modeGCM {
		aead, err := newGCM(block, len(c.iv), c.tagLen)
		return openAEAD(aead, err, c.iv, dst, src, aad)
	}
	return openCBC(block, c.iv, dst[:len(src)], src)
}

// newGCM builds AES-GCM with the nonce and tag sizes of the message; Go
// offers one non-default size at a time, as does every sender we know.
func newGCM(block cipher.Block, nonceLen, tagLen int) (cipher.AEAD, error) {
	if nonceLen == 12 {
		return cipher.NewGCMWithTagSize(block, tagLen)
	}
	if tagLen != 16 {
		return nil, ErrDecrypt
	}
	return cipher.NewGCMWithNonceSize(block, nonceLen)
}

func openAEAD(aead cipher.AEAD, err error, nonce, dst, src, aad []byte) ([]byte, bool) {
	if err != nil || len(nonce) != aead.NonceSize() || len(src) < aead.Overhead() {
		return nil, false
	}
	out, err := aead.Open(dst[:0], nonce, src, aad)
	return out, err == nil
}

// openCBC decrypts CBC from src into buf (which may be src) and removes
// the padding of RFC 5652 section 6.3 without branching on the padding
// bytes.
func openCBC(block cipher.Block, iv, buf, src []byte) ([]byte, bool) {
	bs := block.BlockSize()
	if len(iv) != bs || len(buf) == 0 || len(buf)%bs != 0 {
		return nil, false
	}
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, src)
	n, ok := paddingLen(buf[len(buf)-bs:])
	return buf[:len(buf)-n], ok
}

// paddingLen checks the padding in the last block in constant time. The
// pad length n must be 1..block size and the last n bytes must equal n.
func paddingLen(last []byte) (int, bool) {
	bs := len(last)
	n := int(last[bs-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, bs)
	for i := 1; i <= bs; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, n)
		same := subtle.ConstantTimeByteEq(last[bs-i], byte(n))
		good &= same | (inPad ^ 1)
	}
	if good != 1 {
		return 0, false
	}
	return n, true
}
