package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/smimeproxy/smimeproxy/keystore"
)

// keysImportSecret stores a KEK or a password for a user (see keysUsage).
func keysImportSecret(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newKeysFlags("import-secret", stderr)
	var kind string
	f.fs.StringVar(&f.user, "user", "", "mailbox login `name` the secret belongs to (required)")
	f.fs.StringVar(&kind, "kind", "", "`kek` or `password` (required)")
	f.fs.StringVar(&f.id, "id", "", "KEK identifier in hex, or a label for a password (required)")
	f.fs.StringVar(&f.pwFile, "secret-file", "", "`file` holding the secret")
	if code := f.parse(args, stderr, "user", "kind", "id"); code >= 0 {
		return code
	}
	id, err := secretID(kind, f.id)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys import-secret: %v\n", err)
		return 2
	}
	v, ok := loadVault(f.config, stderr)
	if !ok {
		return 1
	}
	line, err := readPassword(f.pwFile, stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys import-secret: secret: %v\n", err)
		return 1
	}
	secret := []byte(line)
	if kind == keystore.SecretKEK {
		if secret, err = hex.DecodeString(strings.TrimSpace(line)); err != nil {
			fmt.Fprintln(stderr, "smimeproxy keys import-secret: the KEK must be hex")
			return 1
		}
	}
	defer clear(secret)
	info, err := v.AddSecret(f.user, kind, id, secret)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys import-secret: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "stored %s %s for %s as %s\n", kind, f.id, info.User, info.ID)
	return 0
}

// secretID is the identifier as stored: the KEK id's bytes, or the label.
func secretID(kind, id string) ([]byte, error) {
	switch kind {
	case keystore.SecretKEK:
		b, err := hex.DecodeString(id)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("-id must be the KEK identifier in hex")
		}
		return b, nil
	case keystore.SecretPassword:
		return []byte(id), nil
	}
	return nil, fmt.Errorf("-kind must be %s or %s", keystore.SecretKEK, keystore.SecretPassword)
}
