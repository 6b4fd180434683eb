package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// AES key wrap (RFC 3394 section 2.2), the key-encryption algorithm of
// key agreement (RFC 3565 section 2.3.2), KEK (RFC 3565 section 2.3.1)
// and KEM (RFC 9629 section 2) recipients.

// kwIV is the default initial value of RFC 3394 section 2.2.3.1.
var kwIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// wrapAlgorithms are the AES key wrap algorithms with their KEK lengths.
var wrapAlgorithms = []struct {
	name   string
	keyLen int
}{
	{"aes128-wrap", 16}, {"aes192-wrap", 24}, {"aes256-wrap", 32},
}

// wrapKeyLen returns the KEK length of an AES key wrap algorithm. Its
// parameters must be absent (RFC 3565 section 2.3.2).
//
// NULL parameters are accepted too: writers that put NULL after every
// algorithm OID exist for other algorithms, and refusing costs mail.
func wrapKeyLen(alg algorithm) (int, error) {
	name := oidName(alg.oid)
	for _, w := range wrapAlgorithms {
		if w.name == name {
			if alg.params != nil && !bytes.Equal(alg.params, []byte{0x05, 0x00}) {
				return 0, malformed(name + " parameters")
			}
			return w.keyLen, nil
		}
	}
	return 0, unsupported("key wrap", name)
}

// aesUnwrap reverses aesWrap (RFC 3394 section 2.2.2, index-based form).
// Every failure, including a wrong integrity value, is ErrDecrypt.
func aesUnwrap(kek, wrapped []byte) ([]byte, error) {
	n := len(wrapped)/8 - 1
	if len(wrapped)%8 != 0 || n < 2 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, ErrDecrypt
	}
	var a, buf [16]byte
	copy(a[:8], wrapped[:8])
	out := make([]byte, n*8)
	copy(out, wrapped[8:])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a[:8])^t)
			copy(buf[8:], out[(i-1)*8:i*8])
			block.Decrypt(buf[:], buf[:])
			copy(a[:8], buf[:8])
			copy(out[(i-1)*8:], buf[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:8], kwIV[:]) != 1 {
		clear(out)
		return nil, ErrDecrypt
	}
	return out, nil
}

// aesWrap wraps key, a multiple of 8 bytes and at least 16, under kek
// (RFC 3394 section 2.2.1).
func aesWrap(kek, key []byte) ([]byte, error) {
	n := len(key) / 8
	if len(key)%8 != 0 || n < 2 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return wrapBlocks(block, key), nil
}

func wrapBlocks(block cipher.Block, key []byte) []byte {
	n := len(key) / 8
	out := make([]byte, 8+len(key))
	copy(out, kwIV[:])
	copy(out[8:], key)
	var buf [16]byte
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(buf[:8], out[:8])
			copy(buf[8:], out[i*8:(i+1)*8])
			block.Encrypt(buf[:], buf[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(buf[:8])^t)
			copy(out[i*8:], buf[8:])
		}
	}
	return out
}
