package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/smime"
)

// UserKeys hands the pipeline the keys of one authenticated user and of no
// one else: the user is fixed when the session logs in. The keys are read
// from the vault when a message first needs them and kept for the rest of
// the session; a failed read is retried at the next message.
type UserKeys struct {
	vault keystore.Vault
	user  string

	mu    sync.Mutex
	keys  []smime.Key
	setID string
}

// NewUserKeys binds a key source to user, a name already normalized with
// keystore.NormalizeUser.
func NewUserKeys(vault keystore.Vault, user string) *UserKeys {
	return &UserKeys{vault: vault, user: user}
}

// Keys returns the user's keys, current and older.
func (k *UserKeys) Keys(ctx context.Context) ([]smime.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil {
		return k.keys, nil
	}
	keys, err := k.vault.Keys(ctx, k.user)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []smime.Key{}
	}
	k.keys = keys
	return keys, nil
}

// KeySetID names the user's current set of keys by their vault IDs. It
// goes into the cache keys of results that depend on the keys (a message
// that did not decrypt may decrypt once a key is imported), so a session
// that starts after a key change does not see results made without it.
func (k *UserKeys) KeySetID(ctx context.Context) (string, error) {
	keys, err := k.Keys(ctx)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.setID != "" {
		return k.setID, nil
	}
	ids := make([]string, 0, len(keys))
	for _, key := range keys {
		ids = append(ids, key.ID)
	}
	slices.Sort(ids)
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	k.setID = hex.EncodeToString(h.Sum(nil)[:12])
	return k.setID, nil
}
