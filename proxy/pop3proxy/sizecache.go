package pop3proxy

import (
	"container/list"
	"sync"
	"time"
)

// sizeCache remembers, per user and UIDL, what a message looks like to
// the client: its size and whether the pipeline changes it. Unlike the
// pipeline's cache of whole outputs it holds no message data, so it stays
// small and survives the eviction of the plaintext; it is what makes STAT
// and LIST of a second session cost no message download.
//
// TODO(pipeline-metadata): this belongs in proxy/pipeline, next to the
// output cache, so that IMAP RFC822.SIZE can use it too.
type sizeCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *sizeItem
	items map[sizeKey]*list.Element
}

// sizeKey names a message of one user; the user is part of every key.
type sizeKey struct{ user, uidl string }

// sizeEntry is what is known about one message.
type sizeEntry struct {
	// rawSize is the mailbox server's LIST size: an entry whose message
	// has another size now is stale.
	rawSize int64
	// size is the size a client reads from RETR.
	size    int64
	changed bool
	// keyset identifies the user's keys when the entry depends on them
	// (an S/MIME envelope): a key import makes the entry stale. Empty
	// for entries no key affects.
	keyset string
	// expires, when set, is when the entry stops being trusted.
	expires time.Time
}

type sizeItem struct {
	key   sizeKey
	entry sizeEntry
}

func newSizeCache(maxEntries int) *sizeCache {
	return &sizeCache{max: maxEntries, order: list.New(), items: make(map[sizeKey]*list.Element)}
}

func (c *sizeCache) get(key sizeKey) (sizeEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return sizeEntry{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*sizeItem).entry, true
}

func (c *sizeCache) put(key sizeKey, entry sizeEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*sizeItem).entry = entry
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&sizeItem{key: key, entry: entry})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*sizeItem).key)
	}
}

func (c *sizeCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
