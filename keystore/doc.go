// Package keystore holds each mailbox user's S/MIME private keys and
// certificates, and hands them out only for that user.
//
// Vault is the interface the proxy consumes. FileVault is the embedded
// default: one file per key under a directory, the private key sealed with
// AES-256-GCM (NIST SP 800-38D) under a 32-byte master key. The interface is
// kept small (read-only, user-scoped, context-aware) so that later backends
// fit behind it without changes to the proxy: a PKCS#11 HSM backend, whose
// smime.Key.Private is a crypto.Decrypter that never exposes key bytes, and
// a shared database backend for several proxy instances.
//
// Keys enter the vault from PKCS#12 files (RFC 7292), both the OpenSSL 3
// default (PBES2 with AES-256-CBC and an HMAC-SHA256 MAC, RFC 8018) and the
// legacy 3DES and RC2-40 encryptions that Windows and older tools write.
//
// User names are compared after NormalizeUser; the proxy and the vault must
// agree on it, because lookups match the normalized name exactly.
package keystore
