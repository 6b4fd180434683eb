package imapproxy

import (
	"fmt"
	"io"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// maxLiteral bounds one literal read from upstream into memory. A mailbox
// server that announces more is answered with an error for that command
// rather than trusted with the proxy's memory.
const maxLiteral = 1 << 30

// collect reads one upstream FETCH response into memory. Unlike the
// library's Collect it sizes each literal buffer from the announced length,
// so a 20 MB message costs 20 MB and not the doubling growth of
// io.ReadAll.
func collect(msg *imapclient.FetchMessageData) (*imapclient.FetchMessageBuffer, error) {
	buf := &imapclient.FetchMessageBuffer{SeqNum: msg.SeqNum}
	for item := msg.Next(); item != nil; item = msg.Next() {
		if err := collectItem(buf, item); err != nil {
			drain(msg)
			return nil, err
		}
	}
	return buf, nil
}

// drain consumes the rest of a response so that the connection stays in
// step with the server.
func drain(msg *imapclient.FetchMessageData) {
	for item := msg.Next(); item != nil; item = msg.Next() {
		_ = item
	}
}

func collectItem(buf *imapclient.FetchMessageBuffer, item imapclient.FetchItemData) error {
	switch item := item.(type) {
	case imapclient.FetchItemDataBodySection:
		data, err := readLiteral(item.Literal)
		if err != nil {
			return err
		}
		buf.BodySection = append(buf.BodySection, imapclient.FetchBodySectionBuffer{Section: item.Section, Bytes: data})
	case imapclient.FetchItemDataBinarySection:
		data, err := readLiteral(item.Literal)
		if err != nil {
			return err
		}
		buf.BinarySection = append(buf.BinarySection, imapclient.FetchBinarySectionBuffer{Section: item.Section, Bytes: data})
	case imapclient.FetchItemDataFlags:
		buf.Flags = item.Flags
	case imapclient.FetchItemDataEnvelope:
		buf.Envelope = item.Envelope
	case imapclient.FetchItemDataInternalDate:
		buf.InternalDate = item.Time
	case imapclient.FetchItemDataRFC822Size:
		buf.RFC822Size = item.Size
	case imapclient.FetchItemDataUID:
		buf.UID = item.UID
	case imapclient.FetchItemDataBodyStructure:
		buf.BodyStructure = item.BodyStructure
	case imapclient.FetchItemDataBinarySectionSize:
		buf.BinarySectionSize = append(buf.BinarySectionSize, item)
	case imapclient.FetchItemDataModSeq:
		buf.ModSeq = item.ModSeq
	}
	return nil
}

func readLiteral(lit imap.LiteralReader) ([]byte, error) {
	if lit == nil {
		return nil, nil
	}
	size := lit.Size()
	if size < 0 || size > maxLiteral {
		return nil, fmt.Errorf("imapproxy: upstream literal of %d bytes exceeds the %d byte limit", size, maxLiteral)
	}
	data := literalBuffer(int(size))
	if _, err := io.ReadFull(lit, data); err != nil {
		return nil, fmt.Errorf("imapproxy: reading upstream literal: %w", err)
	}
	return data, nil
}

// Buffers for literals of up to pooledLiteral bytes are reused once the
// message they held has been relayed unchanged: a mailbox listing moves
// thousands of them, and allocating (and zeroing) each one showed up as a
// tenth of the proxy's CPU time in BenchmarkFetchPlain500.
const pooledLiteral = 256 << 10

var literalPool = sync.Pool{New: func() any { return new([]byte) }}

func literalBuffer(size int) []byte {
	if size > pooledLiteral {
		return make([]byte, size)
	}
	p := literalPool.Get().(*[]byte)
	if cap(*p) < size {
		*p = make([]byte, size, max(size, 32<<10))
	}
	return (*p)[:size]
}

// recycle hands the literal buffers of buf back for reuse. Only for a
// message whose bytes went to the client and are referenced nowhere else:
// never for one the pipeline transformed, whose output may alias them.
func recycle(buf *imapclient.FetchMessageBuffer) {
	for i := range buf.BodySection {
		putLiteral(buf.BodySection[i].Bytes)
		buf.BodySection[i].Bytes = nil
	}
	for i := range buf.BinarySection {
		putLiteral(buf.BinarySection[i].Bytes)
		buf.BinarySection[i].Bytes = nil
	}
}

func putLiteral(b []byte) {
	if cap(b) == 0 || cap(b) > pooledLiteral {
		return
	}
	b = b[:0]
	literalPool.Put(&b)
}
