package keystore

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// Vault is a store of users' private keys. Implementations must return a
// user's keys only for that user's normalized name (NormalizeUser).
type Vault interface {
	// Keys returns the user's keys, current and older, newest first.
	// Never another user's. No keys is an empty slice and no error.
	Keys(ctx context.Context, user string) ([]smime.Key, error)

	// List describes the user's keys without the private parts.
	// The empty user lists every user's keys.
	List(ctx context.Context, user string) ([]KeyInfo, error)
}

// KeyInfo describes one stored key by its certificate. It never holds key
// material, so it is safe to print and log.
type KeyInfo struct {
	User      string
	ID        string // stable key id, see KeyID
	Subject   string
	Issuer    string
	Serial    string // certificate serial number, lower-case hex
	SKI       string // subject key identifier, lower-case hex; "" when absent
	NotBefore time.Time
	NotAfter  time.Time
	Algorithm string // e.g. "rsa-2048", "ec-p384", "ed25519"
}

// Errors, matched with errors.Is. The messages carry no secrets.
var (
	// ErrInvalidUser: the user name is empty or could escape the vault
	// directory.
	ErrInvalidUser = errors.New("keystore: invalid user name")
	// ErrNotFound: no such key for that user.
	ErrNotFound = errors.New("keystore: key not found")
	// ErrCorrupt: a stored entry failed to decode or to authenticate
	// (tampered, truncated, wrong master key, or moved to another user).
	ErrCorrupt = errors.New("keystore: corrupt or tampered key entry")
	// ErrMasterKey: the master key is missing, has the wrong length or
	// its file is readable by others.
	ErrMasterKey = errors.New("keystore: bad master key")
	// ErrBadPassword: the PKCS#12 password is wrong.
	ErrBadPassword = errors.New("keystore: wrong PKCS#12 password")
	// ErrPKCS12: the PKCS#12 file could not be decoded or holds no usable
	// key and certificate.
	ErrPKCS12 = errors.New("keystore: cannot read PKCS#12 file")
	// ErrKeyMismatch: the private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("keystore: private key does not match certificate")
	// ErrUnsupportedKey: a key type the vault cannot store.
	ErrUnsupportedKey = errors.New("keystore: unsupported key type")
)

// NormalizeUser is the one form of a login name that the vault stores and
// looks up: surrounding white space removed, lower-cased. IMAP login names
// are case-insensitive at every server we target, so Alice@Example.org and
// alice@example.org must reach the same keys.
func NormalizeUser(user string) string {
	return strings.ToLower(strings.TrimSpace(user))
}

// maxUserLen bounds user names so that the escaped form stays below the
// usual 255-byte file name limit.
const maxUserLen = 80

// validUser rejects names that are unusable or could be read as a path.
// Escaping already makes any name safe on disk; rejecting the suspicious
// ones as well keeps "../bob" from being a silently distinct user.
func validUser(user string) error {
	switch {
	case user == "", len(user) > maxUserLen:
		return fmt.Errorf("%w: empty or longer than %d bytes", ErrInvalidUser, maxUserLen)
	case user == "." || user == ".." || strings.Contains(user, ".."):
		return fmt.Errorf("%w: \".\", \"..\" or containing \"..\"", ErrInvalidUser)
	case strings.ContainsAny(user, "/\\"):
		return fmt.Errorf("%w: contains a path separator", ErrInvalidUser)
	}
	for _, r := range user {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: contains a control or space character", ErrInvalidUser)
		}
	}
	return nil
}

// escapeUser maps a valid, normalized user name to a directory name: the
// characters of an ordinary address stay readable, everything else
// (including a leading dot) becomes %XX.
func escapeUser(user string) string {
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		keep := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			strings.IndexByte("@.+_-", c) >= 0
		if keep && (c != '.' || i > 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// KeyID is the vault's name for the key that belongs to cert: the first 12
// bytes of the SHA-256 of the certificate DER, in hex. It depends only on
// public data, so it is safe to log, and it is stable across re-imports.
func KeyID(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:12])
}

// validID accepts exactly what KeyID produces, so that an id taken from a
// command line cannot name a path.
func validID(id string) bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// infoFor describes cert as stored for user.
func infoFor(user string, cert *x509.Certificate) KeyInfo {
	return KeyInfo{
		User:      user,
		ID:        KeyID(cert),
		Subject:   smime.DistinguishedName(cert.Subject),
		Issuer:    smime.DistinguishedName(cert.Issuer),
		Serial:    hex.EncodeToString(cert.SerialNumber.Bytes()),
		SKI:       hex.EncodeToString(cert.SubjectKeyId),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
		Algorithm: certAlgorithm(cert),
	}
}

// certAlgorithm names the certificate's key, including the X25519 keys
// (RFC 8410) that crypto/x509 leaves unparsed.
func certAlgorithm(cert *x509.Certificate) string {
	if cert.PublicKey == nil {
		if _, err := cms.CertificateECDHKey(cert); err == nil {
			return "x25519"
		}
	}
	return algorithmName(cert.PublicKey)
}

// algorithmName names a public key's type and size in a stable, lower-case
// form for listings.
func algorithmName(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		name := strings.ToLower(strings.ReplaceAll(k.Curve.Params().Name, "-", ""))
		return "ec-" + name
	case ed25519.PublicKey:
		return "ed25519"
	default:
		return fmt.Sprintf("%T", pub)
	}
}
