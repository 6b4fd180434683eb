package smime

import (
	"crypto"
	"crypto/x509"
	"fmt"
)

// Key is one private key of a mailbox user together with the certificate
// that senders encrypted to. A user may hold several: the current one and
// older ones kept so that archived mail still opens.
//
// Private is a crypto.Decrypter for RSA keys, an ecdh.KeyExchanger for
// EC and X25519 keys, a crypto.Decapsulator for ML-KEM, or a
// cms.SecretKey / cms.PasswordKey for KEK and password recipients (then
// Certificate is nil). Keys that live in an HSM satisfy the same
// interfaces; the vault never hands out raw key bytes for those.
type Key struct {
	// ID is the vault's stable name for the key, safe to log and audit
	// (it is derived from the certificate, never from the private key).
	ID          string
	Certificate *x509.Certificate
	Private     crypto.PrivateKey
}

// String names the key by its ID and certificate subject; the private part
// is never printed, whatever verb a log line uses.
func (k Key) String() string {
	subject := ""
	if k.Certificate != nil {
		subject = k.Certificate.Subject.String()
	}
	return fmt.Sprintf("key %s (%s)", k.ID, subject)
}

// GoString keeps %#v from dumping the private key.
func (k Key) GoString() string { return k.String() }

// Format applies String to every verb, so %+v and %x cannot leak either.
func (k Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
