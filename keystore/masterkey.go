package keystore

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MasterKeySize is the length of the vault master key: an AES-256 key.
const MasterKeySize = 32

// The master key file holds the key in standard base64 and a newline, so
// that it survives copy and paste, config management templates and the
// same encoding as the environment variable form (MasterKeyFromEnv).

// InitMasterKey writes a new random master key to path with mode 0600 and
// reports created = true. An existing file is never overwritten, since
// replacing the key would make every stored entry unreadable; then it
// returns created = false and no error, and LoadMasterKey checks the file.
func InitMasterKey(path string) (created bool, err error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return false, fmt.Errorf("keystore: master key: %w", err)
	}
	text := []byte(base64.StdEncoding.EncodeToString(key) + "\n")
	clear(key)

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("keystore: master key dir: %w", err)
	}
	// O_EXCL makes the existence check and the creation one step, so two
	// concurrent inits cannot both write.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("keystore: create master key: %w", err)
	}
	return true, writeAndClose(f, path, text)
}

// writeAndClose writes data, syncs and closes f; on failure it removes
// the partial file so that a later init starts clean.
func writeAndClose(f *os.File, path string, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("keystore: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// LoadMasterKey reads the master key written by InitMasterKey.
//
// It refuses a file that the group or others may read or write (anything
// beyond 0600): the key decrypts every user's private key, so a readable
// copy is as bad as unencrypted storage, and failing at start is the only
// way such a mistake gets noticed. OpenSSH treats private keys the same way.
func LoadMasterKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; want 0600 or 0400 (chmod 600)",
			ErrMasterKey, path, perm)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMasterKey, path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	defer clear(text)
	return decodeMasterKey(text, path)
}

// MasterKeyFromEnv reads the master key, standard base64, from the
// environment variable name. For deployments that pass secrets that way
// (systemd credentials, container secrets).
func MasterKeyFromEnv(name string) ([]byte, error) {
	value, ok := os.LookupEnv(name)
	if !ok || value == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set", ErrMasterKey, name)
	}
	return decodeMasterKey([]byte(value), "environment variable "+name)
}

// decodeMasterKey decodes base64 text and checks the length. source names
// where the text came from, for the error; the text itself is never shown.
func decodeMasterKey(text []byte, source string) ([]byte, error) {
	text = bytes.TrimSpace(text)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(key, text)
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("%w: %s is not base64", ErrMasterKey, source)
	}
	if n != MasterKeySize {
		clear(key)
		return nil, fmt.Errorf("%w: %s holds %d bytes, want %d",
			ErrMasterKey, source, n, MasterKeySize)
	}
	return key[:n], nil
}
