package keystore

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// ImportPKCS12 stores every private key in the PKCS#12 file p12 (RFC 7292)
// for user, each with the certificate that carries its public key, and
// returns their descriptions. A wrong password is ErrBadPassword and
// stores nothing; keys already in the vault are left as they are.
func (v *FileVault) ImportPKCS12(user string, p12 []byte, password string) ([]KeyInfo, error) {
	if _, _, err := v.userDir(user); err != nil {
		return nil, err
	}
	pairs, err := decodePKCS12(p12, password)
	if err != nil {
		return nil, err
	}
	infos := make([]KeyInfo, 0, len(pairs))
	for _, p := range pairs {
		info, err := v.Add(user, p.cert, p.key)
		if err != nil {
			return infos, fmt.Errorf("import %s: %w", KeyID(p.cert), err)
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// keyPair is a private key and the certificate of its public key.
type keyPair struct {
	key  crypto.PrivateKey
	cert *x509.Certificate
}

// decodePKCS12 returns the key pairs in p12. go-pkcs12 decodes DER files
// with one key and at most two safes, which covers OpenSSL and Windows
// exports; the rest go through splitPKCS12: BER files (NSS, so Thunderbird
// and Firefox, write those) and files with more keys or safes (RFC 9216's
// examples hold a signing and a decryption key in five safes).
func decodePKCS12(p12 []byte, password string) ([]keyPair, error) {
	key, cert, cas, err := pkcs12.DecodeChain(p12, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		// go-pkcs12 checks the MAC over the whole file before it looks
		// at the safes, so the split path below only runs with a
		// password that the file's MAC accepted.
		return nil, fmt.Errorf("%w: %w", ErrBadPassword, err)
	}
	if err == nil {
		pair, err := matchKey(key, append([]*x509.Certificate{cert}, cas...))
		if err != nil {
			return nil, err
		}
		return []keyPair{pair}, nil
	}
	pairs, splitErr := splitPKCS12(p12, password)
	if errors.Is(splitErr, errNothingToSplit) {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	return pairs, splitErr
}

// matchKey pairs key with the certificate among certs whose public key it
// is. DecodeChain calls the first certificate the leaf, but files list the
// CA first as often as not.
func matchKey(key crypto.PrivateKey, certs []*x509.Certificate) (keyPair, error) {
	for _, c := range certs {
		if checkKeyPair(c, key) == nil {
			return keyPair{key: key, cert: c}, nil
		}
	}
	if len(certs) == 0 {
		return keyPair{}, fmt.Errorf("%w: no certificate", ErrPKCS12)
	}
	if err := checkKeyPair(certs[0], key); errors.Is(err, ErrUnsupportedKey) {
		return keyPair{}, err
	}
	return keyPair{}, fmt.Errorf("%w: no certificate in the file matches the key", ErrKeyMismatch)
}
