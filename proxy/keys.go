package proxy

import (
	"context"
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

	mu   sync.Mutex
	keys []smime.Key
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
