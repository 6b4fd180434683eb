package keystore

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/smimeproxy/smimeproxy/smime"
)

// FileVault keeps keys in a directory tree:
//
//	<dir>/users/<escaped user>/<key id>.json
//
// Each file is one entry (see entry). Directories are 0700, files 0600 and
// written atomically, so a crash leaves either the old or the new entry.
// FileVault is safe for concurrent readers; writers (import, remove) are
// administrative commands and are not serialized against each other.
type FileVault struct {
	dir  string
	aead cipher.AEAD
}

var _ Vault = (*FileVault)(nil)

// OpenFileVault opens (creating if needed) the vault directory dir, with
// entries sealed under masterKey (MasterKeySize bytes). The key is copied
// into the cipher; the caller may clear its slice afterwards.
func OpenFileVault(dir string, masterKey []byte) (*FileVault, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMasterKey, len(masterKey), MasterKeySize)
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, usersDir), 0o700); err != nil {
		return nil, fmt.Errorf("keystore: vault dir: %w", err)
	}
	return &FileVault{dir: dir, aead: aead}, nil
}

const usersDir = "users"

// String names the vault by its directory; the cipher (and with it the
// master key schedule) is never printed.
func (v FileVault) String() string { return "keystore.FileVault(" + v.dir + ")" }

// GoString keeps %#v from dumping the cipher state.
func (v FileVault) GoString() string { return v.String() }

// Format applies String to every verb.
func (v FileVault) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.String()) }

// userDir validates and normalizes user and returns its directory.
func (v *FileVault) userDir(user string) (string, string, error) {
	user = NormalizeUser(user)
	if err := validUser(user); err != nil {
		return "", "", err
	}
	return user, filepath.Join(v.dir, usersDir, escapeUser(user)), nil
}

// Keys implements Vault. Every entry is authenticated; one that fails
// makes the call fail rather than silently shrink the user's key set.
func (v *FileVault) Keys(ctx context.Context, user string) ([]smime.Key, error) {
	user, dir, err := v.userDir(user)
	if err != nil {
		return nil, err
	}
	entries, err := v.readUser(ctx, user, dir)
	if err != nil {
		return nil, err
	}
	keys := make([]smime.Key, 0, len(entries))
	for _, e := range entries {
		k, err := v.openKey(e)
		if err != nil {
			return nil, fmt.Errorf("keys for %s: entry %s: %w", user, e.ID, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// List implements Vault. Entries are authenticated as in Keys, so the
// listing shows exactly the keys the proxy would use.
func (v *FileVault) List(ctx context.Context, user string) ([]KeyInfo, error) {
	if user == "" {
		return v.listAll(ctx)
	}
	user, dir, err := v.userDir(user)
	if err != nil {
		return nil, err
	}
	entries, err := v.readUser(ctx, user, dir)
	if err != nil {
		return nil, err
	}
	infos := make([]KeyInfo, 0, len(entries))
	for _, e := range entries {
		if err := v.checkEntry(e); err != nil {
			return nil, fmt.Errorf("list %s: entry %s: %w", user, e.ID, err)
		}
		infos = append(infos, e.info())
	}
	return infos, nil
}

// listAll lists every user directory. The user name comes from the
// entries, which are authenticated, not from the escaped directory name.
func (v *FileVault) listAll(ctx context.Context) ([]KeyInfo, error) {
	dirs, err := os.ReadDir(filepath.Join(v.dir, usersDir))
	if err != nil {
		return nil, fmt.Errorf("keystore: list: %w", err)
	}
	var all []KeyInfo
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		user, err := unescapeUser(d.Name())
		if err != nil {
			return nil, fmt.Errorf("keystore: list: directory %q: %w", d.Name(), err)
		}
		infos, err := v.List(ctx, user)
		if err != nil {
			return nil, err
		}
		all = append(all, infos...)
	}
	return all, nil
}

// Remove deletes the key id of user. It returns ErrNotFound when there is
// no such entry.
func (v *FileVault) Remove(user, id string) error {
	user, dir, err := v.userDir(user)
	if err != nil {
		return err
	}
	if !validID(id) {
		return fmt.Errorf("%w: %s has no key %q", ErrNotFound, user, id)
	}
	err = os.Remove(filepath.Join(dir, id+entryExt))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s has no key %s", ErrNotFound, user, id)
	}
	if err != nil {
		return fmt.Errorf("keystore: remove %s key %s: %w", user, id, err)
	}
	return syncDir(dir)
}

// Add stores priv with its certificate for user and returns the stored
// key's description. Adding a certificate the user already has is a no-op,
// so imports can be repeated; an existing entry that fails to open is
// rewritten. priv must be the certificate's key.
func (v *FileVault) Add(user string, cert *x509.Certificate,
	priv crypto.PrivateKey) (KeyInfo, error) {
	user, dir, err := v.userDir(user)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := checkKeyPair(cert, priv); err != nil {
		return KeyInfo{}, err
	}
	info := infoFor(user, cert)
	if v.intact(user, dir, info.ID) {
		return info, nil
	}
	data, err := v.sealEntry(user, cert, priv)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return KeyInfo{}, fmt.Errorf("keystore: user dir: %w", err)
	}
	if err := writeFileAtomic(dir, info.ID+entryExt, data); err != nil {
		return KeyInfo{}, err
	}
	return info, nil
}

// intact reports whether user's entry id exists and opens. A damaged one
// is then replaced by Add, so re-importing is also the repair.
func (v *FileVault) intact(user, dir, id string) bool {
	e, err := readEntry(filepath.Join(dir, id+entryExt), user, id)
	return err == nil && v.checkEntry(e) == nil
}

// readUser loads the entry files in dir, newest certificate first. A user
// without a directory simply has no keys.
func (v *FileVault) readUser(ctx context.Context, user, dir string) ([]*entry, error) {
	files, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: read keys of %s: %w", user, err)
	}
	var entries []*entry
	for _, f := range files {
		name := f.Name()
		if !f.Type().IsRegular() || !strings.HasSuffix(name, entryExt) {
			continue // temp files of an interrupted write, editor backups
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := readEntry(filepath.Join(dir, name), user, strings.TrimSuffix(name, entryExt))
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	sortEntries(entries)
	return entries, nil
}

// sortEntries orders newest first (by NotBefore), so that the current key
// is tried before archived ones; ties by id keep the order stable.
func sortEntries(entries []*entry) {
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i].cert, entries[j].cert
		if a == nil || b == nil { // secrets after keys, then by id
			if (a == nil) != (b == nil) {
				return b == nil
			}
			return entries[i].ID < entries[j].ID
		}
		if !a.NotBefore.Equal(b.NotBefore) {
			return a.NotBefore.After(b.NotBefore)
		}
		return entries[i].ID < entries[j].ID
	})
}

// writeFileAtomic writes data to dir/name through a temporary file and a
// rename, so readers never see a partial entry.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("keystore: write entry: %w", err)
	}
	tmp := f.Name()
	// CreateTemp already uses 0600; say so explicitly in case that changes.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("keystore: write entry: %w", err)
	}
	if err := writeAndClose(f, tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keystore: write entry: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keystore: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keystore: sync dir: %w", err)
	}
	return nil
}

// unescapeUser reverses escapeUser for directory names found on disk and
// rejects names that escapeUser would not have produced.
func unescapeUser(name string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			b.WriteByte(name[i])
			continue
		}
		if i+3 > len(name) {
			return "", ErrInvalidUser
		}
		c, err := hex.DecodeString(name[i+1 : i+3])
		if err != nil {
			return "", ErrInvalidUser
		}
		b.Write(c)
		i += 2
	}
	user := b.String()
	if NormalizeUser(user) != user || validUser(user) != nil || escapeUser(user) != name {
		return "", ErrInvalidUser
	}
	return user, nil
}
