package smime

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// DecompressEntity opens the body of an application/pkcs7-mime entity
// with smime-type=compressed-data (RFC 8551 section 3.6, RFC 3274) and
// returns the MIME entity inside, with CRLF line endings. cte is the
// entity's Content-Transfer-Encoding. Output beyond
// limits.MaxDecompressedBytes is an error matching cms.ErrLimit.
func DecompressEntity(body []byte, cte string, limits cms.Limits) ([]byte, error) {
	maxInput := limits.MaxInputBytes
	if maxInput <= 0 {
		maxInput = cms.DefaultLimits().MaxInputBytes
	}
	der, err := extractCMS(body, cte, maxInput)
	if err != nil {
		return nil, err
	}
	inner, err := cms.Decompress(der, limits)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return NormalizeCRLF(inner), nil
}

// decompressInner replaces a decrypted compressed-data entity (the
// layering RFC 8551 section 3.6 allows: compress, then encrypt) by the
// entity inside it. A failure makes the whole result fail: the inner
// entity would be useless to the client.
func decompressInner(res DecryptResult, limits cms.Limits) DecryptResult {
	msg, err := mail.ReadMessage(bytes.NewReader(res.Inner))
	if err != nil || ClassifyContentType(msg.Header.Get("Content-Type")) != KindCompressed {
		return res
	}
	body, err := io.ReadAll(msg.Body)
	if err == nil {
		var inner []byte
		inner, err = DecompressEntity(body, msg.Header.Get("Content-Transfer-Encoding"), limits)
		if err == nil {
			res.Inner = inner
			return res
		}
	}
	clear(res.Inner)
	return DecryptResult{Outcome: parseOutcome(err), KeyID: res.KeyID, Cipher: res.Cipher,
		Recipient: res.Recipient, Err: fmt.Errorf("decrypted compressed-data: %w", err)}
}

// DecompressFailure names why DecompressEntity failed, in the words of the
// status field: "too-large", "unsupported-algorithm" or "corrupt".
func DecompressFailure(err error) string {
	return string(parseOutcome(err))
}
