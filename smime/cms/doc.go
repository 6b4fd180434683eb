// Package cms opens encrypted Cryptographic Message Syntax messages: it
// parses EnvelopedData and AuthEnvelopedData, finds the recipient entry that
// belongs to a key, unwraps the content-encryption key and decrypts the
// content. It also opens CompressedData and EncryptedData, and writes
// messages for the demo and for tests.
//
// Specifications implemented:
//
//   - RFC 5652 (CMS): ContentInfo, EnvelopedData (section 6), all five
//     RecipientInfo choices (section 6.2): key transport, key agreement,
//     KEK and password recipients are decrypted, and KEM recipients inside
//     OtherRecipientInfo. EncryptedData (section 8).
//   - RFC 5083: AuthEnvelopedData, with authAttrs as additional data.
//   - RFC 5084: AES-GCM (and AES-CBC parameters) in CMS.
//   - RFC 3560: RSA-OAEP key transport, including an MGF1 hash that differs
//     from the OAEP hash and a pSpecified label.
//   - RFC 5753 and RFC 3565: ephemeral-static ECDH on P-256, P-384 and
//     P-521 (uncompressed or compressed ephemeral points), standard and
//     cofactor schemes, the ANSI X9.63 KDF with SHA-1 to SHA-512 over
//     ECC-CMS-SharedInfo, and AES key wrap (RFC 3394).
//   - RFC 8418: X25519 key agreement with HKDF. X448 is recognised only.
//   - RFC 3211: password recipients, PBKDF2 (RFC 8018) and id-alg-PWRI-KEK.
//   - RFC 9629 / RFC 9936: KEMRecipientInfo with ML-KEM-768 and
//     ML-KEM-1024, HKDF (RFC 8619) and AES key wrap.
//   - RFC 3274: CompressedData with zlib, under Limits.MaxDecompressedBytes.
//   - RFC 3565: AES-CBC content encryption.
//   - RFC 8103: ChaCha20-Poly1305 in AuthEnvelopedData.
//   - RFC 2268 section 6: RC2-CBC parameters; RFC 3370 (Triple-DES, DES, RC2).
//   - X.690: BER input (indefinite lengths, chunked OCTET STRINGs) is turned
//     into DER before parsing, under [Limits].
//
// [ParseEnvelope] lists the recipients and names the algorithms without any
// key. [Envelope.Decrypt] then opens it with one certificate and private key:
// a crypto.Decrypter with an RSA public key, an *ecdsa.PrivateKey or any
// ecdh.KeyExchanger (P-256/384/521, X25519), or a crypto.Decapsulator
// (ML-KEM), so keys may live in an HSM. [Envelope.DecryptWithSecret] and
// [Envelope.DecryptWithPassword] open KEK and password recipients. An
// Envelope is read-only after parsing and safe for concurrent use.
// [NormalizeBER] is the BER to DER step on its own; [Decompress] opens
// CompressedData; [DecryptEncryptedData] opens EncryptedData. [Encrypt] and
// [EncryptFor] write messages for the demo and for tests.
//
// Errors are sentinels tested with errors.Is: [ErrMalformed], [ErrUnsupported],
// [ErrNoRecipient], [ErrDecrypt] and [ErrLimit]. Every cryptographic failure
// (wrong key, bad padding, bad tag, bad key wrap, bad key length, a point
// not on the curve, a wrong password) is the one [ErrDecrypt], so that
// callers cannot become a padding or Bleichenbacher oracle. Every exported
// entry point turns a panic into [ErrMalformed].
package cms
