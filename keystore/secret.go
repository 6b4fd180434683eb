package keystore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// Symmetric secrets: a key-encryption key that senders share with the
// user out of band (CMS KEKRecipientInfo, RFC 5652 section 6.2.3), or a
// password (PasswordRecipientInfo, RFC 3211). They are stored like keys,
// sealed under the master key, and handed out as smime.Key values whose
// Private is a cms.SecretKey or cms.PasswordKey and whose Certificate is
// nil.

// Secret kinds, as AddSecret and the keys command name them.
const (
	SecretKEK      = "kek"
	SecretPassword = "password"
)

// maxSecretBytes bounds a stored secret; AES KEKs are 16 to 32 bytes.
const maxSecretBytes = 1024

// secretEntryID names the entry of a secret: like KeyID, 24 hex digits,
// here derived from the kind and the KEK identifier (or, for passwords,
// the label), never from the secret.
func secretEntryID(kind string, id []byte) string {
	sum := sha256.Sum256(append([]byte("smimeproxy secret\x00"+kind+"\x00"), id...))
	return hex.EncodeToString(sum[:12])
}

// AddSecret stores a secret for user. For SecretKEK, id is the key
// identifier messages name the KEK by and secret is 16, 24 or 32 bytes;
// for SecretPassword, id is a label of the caller's choosing. Adding a
// secret with the same kind and id replaces the old one.
func (v *FileVault) AddSecret(user, kind string, id, secret []byte) (KeyInfo, error) {
	user, dir, err := v.userDir(user)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := checkSecret(kind, id, secret); err != nil {
		return KeyInfo{}, err
	}
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return KeyInfo{}, fmt.Errorf("keystore: nonce: %w", err)
	}
	e := entry{Version: entryVersion, User: user, ID: secretEntryID(kind, id),
		Cipher: entryCipher, Nonce: nonce, Kind: kind, SecretID: id,
		Created: time.Now().UTC().Truncate(time.Second)}
	e.PrivateKey = v.aead.Seal(nil, nonce, secret, aad(user, e.ID))
	data, err := json.MarshalIndent(&e, "", "  ")
	if err != nil {
		return KeyInfo{}, fmt.Errorf("keystore: encode entry: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return KeyInfo{}, fmt.Errorf("keystore: user dir: %w", err)
	}
	if err := writeFileAtomic(dir, e.ID+entryExt, append(data, '\n')); err != nil {
		return KeyInfo{}, err
	}
	return e.info(), nil
}

func checkSecret(kind string, id, secret []byte) error {
	switch {
	case kind != SecretKEK && kind != SecretPassword:
		return fmt.Errorf("%w: secret kind %q", ErrUnsupportedKey, kind)
	case len(id) == 0 || len(id) > 256:
		return fmt.Errorf("%w: secret id of %d bytes", ErrUnsupportedKey, len(id))
	case len(secret) == 0 || len(secret) > maxSecretBytes:
		return fmt.Errorf("%w: secret of %d bytes", ErrUnsupportedKey, len(secret))
	case kind == SecretKEK && len(secret) != 16 && len(secret) != 24 && len(secret) != 32:
		return fmt.Errorf("%w: a KEK is 16, 24 or 32 bytes, not %d", ErrUnsupportedKey,
			len(secret))
	}
	return nil
}

// checkSecret validates the clear-text fields of a secret entry.
func (e *entry) checkSecret() error {
	if (e.Kind != SecretKEK && e.Kind != SecretPassword) || len(e.Certificate) != 0 ||
		secretEntryID(e.Kind, e.SecretID) != e.ID {
		return fmt.Errorf("%w: entry %s: bad secret fields", ErrCorrupt, e.ID)
	}
	return nil
}

// openSecret authenticates and decrypts a secret entry.
func (v *FileVault) openSecret(e *entry) (smime.Key, error) {
	secret, err := v.unseal(e)
	if err != nil {
		return smime.Key{}, err
	}
	if err := checkSecret(e.Kind, e.SecretID, secret); err != nil {
		clear(secret)
		return smime.Key{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if e.Kind == SecretPassword {
		return smime.Key{ID: e.ID, Private: cms.PasswordKey(secret)}, nil
	}
	return smime.Key{ID: e.ID, Private: cms.SecretKey{ID: e.SecretID, Key: secret}}, nil
}

// info describes the entry: a key by its certificate, a secret by its
// kind and identifier.
func (e *entry) info() KeyInfo {
	if e.Kind == "" {
		return infoFor(e.User, e.cert)
	}
	return KeyInfo{User: e.User, ID: e.ID, Subject: e.Kind + " " + hex.EncodeToString(e.SecretID),
		Algorithm: e.Kind, NotBefore: e.Created}
}
