package trust

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Managed is the directory that `smimeproxy trust add` and `trust remove`
// edit, so that they never rewrite the operator's TOML: Dir/roots and
// Dir/intermediates, one PEM file per certificate named by its SHA-256
// fingerprint. [LoadDir] reads it beside the configured files.
type Managed struct {
	Dir string
}

// ErrAmbiguous means a fingerprint prefix matched more than one certificate.
var ErrAmbiguous = errors.New("trust: fingerprint prefix matches several certificates")

// minPrefix is the shortest fingerprint prefix Remove accepts.
const minPrefix = 8

func (m Managed) dirOf(k Kind) string {
	if k == KindRoot {
		return filepath.Join(m.Dir, "roots")
	}
	return filepath.Join(m.Dir, "intermediates")
}

// Add stores c as a root or an intermediate. It returns the file and false
// when c was already there. An intermediate must be a CA certificate.
func (m Managed) Add(c *x509.Certificate, kind Kind) (string, bool, error) {
	if kind == KindIntermediate && !(c.BasicConstraintsValid && c.IsCA) {
		return "", false, fmt.Errorf("%w: %s is not a CA certificate (basic constraints)",
			ErrBadFile, name(c))
	}
	dir := m.dirOf(kind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	fname := Fingerprint(c) + ".pem"
	path := filepath.Join(dir, fname)
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	if err := writeFileAtomic(dir, fname, data); err != nil {
		return "", false, err
	}
	return path, true, nil
}

// Remove deletes the managed certificate whose fingerprint is fp or starts
// with fp (hex, at least 8 digits, colons and case ignored). It returns the
// removed entry. Certificates from the files listed in the config are not
// touched: the operator edits those.
func (m Managed) Remove(fp string) (Entry, error) {
	fp = normalizeFingerprint(fp)
	if len(fp) < minPrefix {
		return Entry{}, fmt.Errorf("%w: give at least %d hex digits of the fingerprint",
			ErrNotFound, minPrefix)
	}
	var hits []Entry
	for _, kind := range []Kind{KindRoot, KindIntermediate} {
		found, err := m.find(kind, fp)
		if err != nil {
			return Entry{}, err
		}
		hits = append(hits, found...)
	}
	switch {
	case len(hits) == 0:
		return Entry{}, fmt.Errorf("%w: no certificate in %s has fingerprint %s",
			ErrNotFound, m.Dir, fp)
	case len(hits) > 1:
		return Entry{}, fmt.Errorf("%w: %s", ErrAmbiguous, fp)
	}
	if err := os.Remove(hits[0].File); err != nil {
		return Entry{}, err
	}
	return hits[0], syncDir(filepath.Dir(hits[0].File))
}

func normalizeFingerprint(fp string) string {
	return strings.ToLower(strings.ReplaceAll(fp, ":", ""))
}

// MatchFingerprint reports whether c's fingerprint is fp or starts with it
// (at least 8 hex digits; colons and case ignored).
func MatchFingerprint(c *x509.Certificate, fp string) bool {
	fp = normalizeFingerprint(fp)
	return len(fp) >= minPrefix && strings.HasPrefix(Fingerprint(c), fp)
}

// find lists the certificates of kind whose fingerprint starts with fp. A
// matching certificate in a file that holds several is an error: removing the
// file would remove the others too.
func (m Managed) find(kind Kind, fp string) ([]Entry, error) {
	l := &loader{}
	l.path(m.dirOf(kind), kind, true)
	var hits []Entry
	seen := map[string]bool{}
	for _, e := range l.entries {
		f := Fingerprint(e.Cert)
		if !strings.HasPrefix(f, fp) || seen[f] {
			continue
		}
		seen[f] = true
		if n := countIn(l.entries, e.File); n > 1 {
			return nil, fmt.Errorf("trust: %s holds %d certificates; edit it by hand", e.File, n)
		}
		hits = append(hits, e)
	}
	return hits, nil
}

func countIn(entries []Entry, file string) int {
	n := 0
	for _, e := range entries {
		if e.File == file {
			n++
		}
	}
	return n
}

// writeFileAtomic writes dir/name through a temporary file and a rename, so
// that a reader (serve reloading) never sees half a certificate.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(0o644) // certificates are public
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, name))
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
