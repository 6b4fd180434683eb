package pipeline

import (
	"container/list"
	"sync"
)

// cacheKey identifies a message of one user. The user is part of every
// key, so one user's plaintext can never be served to another, even for
// a shared mailbox with the same UIDs.
type cacheKey struct {
	keySet           string
	user, mailbox    string
	uidValidity, uid uint32
	uidl             string
}

func cacheKeyFor(ref MessageRef) (cacheKey, bool) {
	if ref.User == "" {
		return cacheKey{}, false
	}
	if ref.UID != 0 {
		return cacheKey{keySet: ref.KeySet, user: ref.User, mailbox: ref.Mailbox,
			uidValidity: ref.UIDValidity, uid: ref.UID}, true
	}
	if ref.POP3UIDL != "" {
		return cacheKey{keySet: ref.KeySet, user: ref.User, uidl: ref.POP3UIDL}, true
	}
	return cacheKey{}, false
}

// entryOverhead approximates the bookkeeping memory of one entry (map
// slot, list element, Output and DecryptResult), so that many tiny
// messages cannot exceed the bound either.
const entryOverhead = 512

// cache is a byte-bounded LRU of Outputs held in memory only; it is never
// written anywhere. A nil *cache (size 0) caches nothing.
type cache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // front = most recently used; values are *cacheEntry
	items map[cacheKey]*list.Element
}

type cacheEntry struct {
	key  cacheKey
	out  *Output
	size int64
}

func newCache(maxBytes int64) *cache {
	if maxBytes <= 0 {
		return nil
	}
	return &cache{max: maxBytes, order: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *cache) get(key cacheKey) (*Output, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).out, true
}

// put stores out, evicting the least recently used entries to stay within
// the bound. An output larger than the whole cache is not stored.
func (c *cache) put(key cacheKey, out *Output) {
	if c == nil {
		return
	}
	size := int64(len(out.Message)) + int64(len(key.user)+len(key.mailbox)+len(key.uidl)) +
		entryOverhead
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, out: out, size: size})
	c.used += size
	for c.used > c.max {
		c.remove(c.order.Back())
	}
}

func (c *cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.order.Remove(el)
	delete(c.items, e.key)
	c.used -= e.size
}

// stats returns the number of entries and bytes accounted, for tests.
func (c *cache) stats() (entries int, used int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used
}
