package cms

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test with errors.Is; the text after the sentinel's own
// message names the part of the structure involved (never key material).
var (
	// ErrMalformed means the input is not a well-formed CMS structure.
	ErrMalformed = errors.New("cms: malformed message")
	// ErrUnsupported means the message uses an algorithm or structure this
	// package does not implement. The error also unwraps to an
	// *UnsupportedError that names it.
	ErrUnsupported = errors.New("cms: unsupported")
	// ErrNoRecipient means no recipient entry matches the certificate.
	ErrNoRecipient = errors.New("cms: no recipient matches the certificate")
	// ErrDecrypt covers every cryptographic failure with one text, so that
	// padding, tag and key-unwrap failures cannot be told apart.
	ErrDecrypt = errors.New("cms: decryption failed")
	// ErrLimit means the input exceeds a configured Limits value.
	ErrLimit = errors.New("cms: limit exceeded")
)

// UnsupportedError names the algorithm or structure that is not
// implemented, with the stable names of this package ("rc2-cbc-40",
// "key-agree", "oid:1.2.3"). It matches ErrUnsupported with errors.Is.
type UnsupportedError struct {
	// What is the role of the algorithm: "content cipher", "key transport",
	// "recipient type", "content type".
	What string
	// Name is the stable name, or "oid:" and the dotted OID when unknown.
	Name string
}

func (e *UnsupportedError) Error() string {
	return "cms: unsupported " + e.What + ": " + e.Name
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

func unsupported(what, name string) error {
	return &UnsupportedError{What: what, Name: name}
}

func malformed(where string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, where)
}

func overLimit(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}

// guard turns a panic in an exported entry point into ErrMalformed. The
// parsers are written not to panic; this is the second line of defence
// against a crafted message crashing the proxy. The panic value is dropped
// because it could quote message bytes.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: internal error while parsing", ErrMalformed)
	}
}
