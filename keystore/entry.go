package keystore

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// entry is one key file. On disk it is JSON (version 1):
//
//	{
//	  "version": 1,
//	  "user": "alice@example.org",        normalized user name
//	  "id": "<24 hex>",                    KeyID(certificate)
//	  "certificate": "<base64 DER>",       public, stored in the clear
//	  "cipher": "aes-256-gcm",
//	  "nonce": "<base64, 12 bytes>",       random per write
//	  "private_key": "<base64>",           sealed PKCS#8 DER + GCM tag
//	  "created": "2026-12-03T17:00:00Z"
//	}
//
// The additional authenticated data binds the ciphertext to the user and
// the key id (see aad), so an entry copied into another user's directory,
// or given another certificate, fails to open.
type entry struct {
	Version     int       `json:"version"`
	User        string    `json:"user"`
	ID          string    `json:"id"`
	Certificate []byte    `json:"certificate"`
	Cipher      string    `json:"cipher"`
	Nonce       []byte    `json:"nonce"`
	PrivateKey  []byte    `json:"private_key"`
	Created     time.Time `json:"created"`
	// Kind is "" for a private key with its certificate, or SecretKEK or
	// SecretPassword for a symmetric secret (see secret.go), which has
	// no certificate; SecretID is then the KEK identifier.
	Kind     string `json:"kind,omitempty"`
	SecretID []byte `json:"secret_id,omitempty"`

	cert *x509.Certificate // parsed Certificate
}

const (
	entryVersion = 1
	entryCipher  = "aes-256-gcm"
	entryExt     = ".json"
	// maxEntryBytes bounds what readEntry loads; real entries are a few KB.
	maxEntryBytes = 1 << 20
)

// aad is the GCM additional data: a label with the format version, then
// the user and the key id, NUL-separated (neither may contain NUL).
func aad(user, id string) []byte {
	return []byte("smimeproxy keystore v1\x00" + user + "\x00" + id)
}

// readEntry loads and parses the file at path and checks that it is the
// entry the path says it is: user's, with key id id.
func readEntry(path, user, id string) (*entry, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keystore: read entry %s: %w", id, err)
	}
	if st.Size() > maxEntryBytes {
		return nil, fmt.Errorf("%w: entry %s is %d bytes", ErrCorrupt, id, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keystore: read entry %s: %w", id, err)
	}
	var e entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: entry %s: not JSON", ErrCorrupt, id)
	}
	if err := e.check(user, id); err != nil {
		return nil, err
	}
	return &e, nil
}

// check validates the clear-text fields against where the entry was found.
// The GCM tag (checkEntry) is what makes this binding hold against an
// attacker who can edit the files; these checks give a clear error first.
func (e *entry) check(user, id string) error {
	switch {
	case e.Version != entryVersion || e.Cipher != entryCipher:
		return fmt.Errorf("%w: entry %s: version %d cipher %q", ErrCorrupt, id, e.Version, e.Cipher)
	case e.User != user:
		return fmt.Errorf("%w: entry %s belongs to another user", ErrCorrupt, id)
	case e.ID != id:
		return fmt.Errorf("%w: entry %s is named %s", ErrCorrupt, e.ID, id)
	case e.Kind != "":
		return e.checkSecret()
	}
	cert, err := x509.ParseCertificate(e.Certificate)
	if err != nil {
		return fmt.Errorf("%w: entry %s: certificate: %w", ErrCorrupt, id, err)
	}
	if KeyID(cert) != id {
		return fmt.Errorf("%w: entry %s holds another certificate", ErrCorrupt, id)
	}
	e.cert = cert
	return nil
}

// sealEntry encrypts priv and returns the file content for user's entry.
func (v *FileVault) sealEntry(user string, cert *x509.Certificate,
	priv crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, priv)
	}
	defer clear(der)

	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keystore: nonce: %w", err)
	}
	id := KeyID(cert)
	e := entry{
		Version:     entryVersion,
		User:        user,
		ID:          id,
		Certificate: cert.Raw,
		Cipher:      entryCipher,
		Nonce:       nonce,
		PrivateKey:  v.aead.Seal(nil, nonce, der, aad(user, id)),
		Created:     time.Now().UTC().Truncate(time.Second),
	}
	data, err := json.MarshalIndent(&e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("keystore: encode entry: %w", err)
	}
	return append(data, '\n'), nil
}

// unseal authenticates and decrypts the private key; the caller must clear
// the returned PKCS#8 DER.
func (v *FileVault) unseal(e *entry) ([]byte, error) {
	if len(e.Nonce) != v.aead.NonceSize() {
		return nil, fmt.Errorf("%w: bad nonce length", ErrCorrupt)
	}
	der, err := v.aead.Open(nil, e.Nonce, e.PrivateKey, aad(e.User, e.ID))
	if err != nil {
		// One message for every cause: tampering, a moved entry and a
		// wrong master key look the same to GCM.
		return nil, fmt.Errorf("%w: authentication failed (tampered, moved or other master key)",
			ErrCorrupt)
	}
	return der, nil
}

// checkEntry authenticates the entry without parsing the key.
func (v *FileVault) checkEntry(e *entry) error {
	der, err := v.unseal(e)
	clear(der)
	return err
}

// openKey decrypts and parses the entry's key and checks it against the
// certificate.
func (v *FileVault) openKey(e *entry) (smime.Key, error) {
	if e.Kind != "" {
		return v.openSecret(e)
	}
	der, err := v.unseal(e)
	if err != nil {
		return smime.Key{}, err
	}
	defer clear(der)
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return smime.Key{}, fmt.Errorf("%w: private key: %w", ErrCorrupt, err)
	}
	if err := checkKeyPair(e.cert, priv); err != nil {
		return smime.Key{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	// The proxy only decrypts with EC keys, which cms does in the ECDH
	// form; converting here, once per load, saves a scalar multiplication
	// on every message.
	if k, ok := priv.(*ecdsa.PrivateKey); ok {
		if kx, err := k.ECDH(); err == nil {
			priv = kx
		}
	}
	return smime.Key{ID: e.ID, Certificate: e.cert, Private: priv}, nil
}

// checkKeyPair reports whether priv is the private half of cert's public
// key. An import that pairs a key with the wrong certificate would
// otherwise fail only later, on every message, as "could not decrypt".
func checkKeyPair(cert *x509.Certificate, priv crypto.PrivateKey) error {
	type publicKeyer interface{ Public() crypto.PublicKey }
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *ecdh.PrivateKey:
	default:
		return fmt.Errorf("%w: %T", ErrUnsupportedKey, priv)
	}
	certKey := cert.PublicKey
	if k, ok := certKey.(*ecdsa.PublicKey); ok {
		if _, ecdhForm := priv.(*ecdh.PrivateKey); ecdhForm {
			certKey, _ = k.ECDH() // as openKey hands EC keys out
		}
	}
	if certKey == nil {
		// crypto/x509 leaves X25519 keys (RFC 8410) unparsed.
		if k, err := cms.CertificateECDHKey(cert); err == nil {
			certKey = k
		}
	}
	pub, ok := priv.(publicKeyer).Public().(equaler)
	if !ok || !pub.Equal(certKey) {
		return fmt.Errorf("%w: %s", ErrKeyMismatch, KeyID(cert))
	}
	return nil
}
