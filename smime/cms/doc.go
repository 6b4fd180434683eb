// Package cms opens encrypted Cryptographic Message Syntax messages: it
// parses EnvelopedData and AuthEnvelopedData, finds the recipient entry that
// belongs to a certificate, unwraps the content-encryption key with the
// matching private key and decrypts the content. It also writes such messages
// for the demo and for tests.
//
// Specifications implemented:
//
//   - RFC 5652 (CMS): ContentInfo, EnvelopedData (section 6), all five
//     RecipientInfo choices are recognised (section 6.2); key transport
//     recipients (section 6.2.1) are decrypted.
//   - RFC 5083: AuthEnvelopedData, with authAttrs as additional data.
//   - RFC 5084: AES-GCM (and AES-CBC parameters) in CMS.
//   - RFC 3560: RSA-OAEP key transport, including an MGF1 hash that differs
//     from the OAEP hash and a pSpecified label.
//   - RFC 3565: AES-CBC content encryption.
//   - RFC 8103: ChaCha20-Poly1305 in AuthEnvelopedData.
//   - RFC 2268 section 6: RC2-CBC parameters; RFC 3370 (Triple-DES, DES, RC2).
//   - RFC 9629 / RFC 9936: KEMRecipientInfo is listed (not yet decrypted).
//   - X.690: BER input (indefinite lengths, chunked OCTET STRINGs) is turned
//     into DER before parsing, under [Limits].
//
// [ParseEnvelope] lists the recipients and names the algorithms without any
// key; [Envelope.Decrypt] then opens it with one certificate and private key
// (any crypto.Decrypter with an RSA public key, so keys may live in an HSM).
// An Envelope is read-only after parsing and safe for concurrent Decrypt
// calls. [NormalizeBER] is the BER to DER step on its own. [Encrypt] writes
// messages for the demo and for tests.
//
// Errors are sentinels tested with errors.Is: [ErrMalformed], [ErrUnsupported],
// [ErrNoRecipient], [ErrDecrypt] and [ErrLimit]. Every cryptographic failure
// (wrong key, bad padding, bad tag, bad key length) is the one [ErrDecrypt],
// so that callers cannot become a padding or Bleichenbacher oracle. Every
// exported entry point turns a panic into [ErrMalformed].
package cms
