package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
)

// masterKeySize is the length of the vault master key in bytes (AES-256).
const masterKeySize = 32

// checkMasterKeyText checks the master key format the keystore reads from its
// file and from master_key_env: standard base64 of 32 bytes, surrounding
// space ignored. The keystore decodes the key itself (keystore.LoadMasterKey,
// keystore.MasterKeyFromEnv); this check only lets check-config fail where
// serve would. Errors never contain the text.
func checkMasterKeyText(text []byte) error {
	text = bytes.TrimSpace(text)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	defer clear(key)
	n, err := base64.StdEncoding.Decode(key, text)
	if err != nil {
		return fmt.Errorf("is not base64")
	}
	if n != masterKeySize {
		return fmt.Errorf("holds %d bytes, want %d", n, masterKeySize)
	}
	return nil
}
