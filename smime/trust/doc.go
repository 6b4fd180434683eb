// Package trust holds the certificates smimeproxy trusts and builds signer
// chains to them.
//
// Its one job is to answer "does this signer certificate chain to a root the
// operator configured, for e-mail protection, at this time?" (RFC 5280
// section 6, RFC 8550 section 4). Roots and intermediates come from PEM or
// DER files or directories listed in the config, plus a managed directory
// (see [Managed]) that `smimeproxy trust add|remove` edit so that the
// operator's TOML is never rewritten.
//
// Rules decided here:
//
//   - Certificates carried in a message may only supply intermediates. A
//     self-signed certificate in a message is never an anchor: the chain must
//     end at a configured root (RFC 8550 section 4.1 leaves trust to local
//     policy; ours is the configured roots only).
//   - The chain must allow e-mail protection: every certificate's extended key
//     usage must include emailProtection or anyExtendedKeyUsage, or have none
//     (RFC 8550 section 4.4.4). crypto/x509 would check server
//     authentication if we did not say so.
//   - Certificates signed with SHA-1 or MD5 do not verify in crypto/x509 (Go
//     1.24 and later), and we do not work around it: such a chain is reported
//     as [ErrUntrusted] wrapping [ErrWeakAlgorithm], with the certificate named,
//     so that the verifier can map it to "policy" (RFC 8551 section 2.1 no
//     longer lists SHA-1 for signing). The RFC 4134 sample PKI is such a case.
//   - Validity is checked at a caller-given time, and an expired or
//     not-yet-valid certificate anywhere in the chain is reported as such.
package trust
