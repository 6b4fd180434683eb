// Package pipeline turns a message from the mailbox server into the
// message a client sees, for the IMAP and POP3 fronts alike.
//
// For an S/MIME envelope (RFC 8551 section 3.3: application/pkcs7-mime,
// enveloped-data or authEnveloped-data) it decrypts the CMS content
// (RFC 5652) with the session user's keys, and builds a message from the
// outer header fields, an X-SMIME-Status field (grammar in package smime)
// and the decrypted inner entity. Status fields that arrive in the
// message are forged by definition and removed, as are
// Authentication-Results fields under our authserv-id (RFC 8601
// section 5). Every other message passes through byte for byte, and
// NeedsTransform lets a front decide that from a few header fields
// (HeaderFields) without downloading the body.
//
// Signed messages (multipart/signed and signed-data, RFC 8551 section 3.5)
// are verified too, also inside an envelope and in nested layers; the
// results go into an Authentication-Results field under our authserv-id
// (RFC 8601, method "smime" of RFC 7281) and into X-SMIME-Status. Our
// fields are added outside the signed content, so a multipart/signed
// message still verifies in the client; an opaque signature's content
// becomes the message shown.
//
// In a multipart message, an envelope forwarded as a message/rfc822 part
// is opened as that attachment: the embedded message is replaced as a
// whole by its transformed form, and the rest of the outer message stays
// byte for byte (NeedsBodyScan and NeedsTransformBody tell a front when
// to look).
//
// Transformed messages are kept in a byte-bounded in-memory LRU cache,
// keyed by user and message, and every decryption attempt and every
// signer checked writes one audit log line (event=decrypt, event=verify)
// without content or key material.
package pipeline
