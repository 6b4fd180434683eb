package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrUntrusted     = errors.New("trust: no chain to a trusted root")
	ErrExpired       = errors.New("trust: certificate expired")
	ErrNotYetValid   = errors.New("trust: certificate not yet valid")
	ErrBadUsage      = errors.New("trust: certificate not allowed for e-mail protection")
	ErrWeakAlgorithm = errors.New("trust: certificate signed with a weak algorithm")
	ErrBadFile       = errors.New("trust: not a certificate file")
	ErrNotFound      = errors.New("trust: certificate not found")
)

// maxFileBytes bounds one certificate file; CA bundles are a few hundred KB.
const maxFileBytes = 16 << 20

// Kind says whether a certificate is a trust anchor or only a chain link.
type Kind string

// The kinds of certificate in a store.
const (
	KindRoot         Kind = "root"
	KindIntermediate Kind = "intermediate"
)

// Entry is one certificate of a store and where it came from.
type Entry struct {
	Cert *x509.Certificate
	Kind Kind
	File string // the file it was read from
}

// Store is a loaded, immutable set of roots and intermediates. It is safe for
// concurrent use.
type Store struct {
	entries []Entry
	roots   *x509.CertPool
	inters  []*x509.Certificate
	// interPool holds inters; Verify clones it to add a message's
	// certificates.
	interPool *x509.CertPool
	// bySubject finds candidate issuers for the weak-algorithm diagnosis.
	bySubject map[string][]*x509.Certificate
	rootFP    map[[32]byte]bool
}

// FileError is one file that could not be loaded.
type FileError struct {
	Path string
	Kind Kind
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// LoadError lists every file that could not be loaded, so that an operator
// fixes them all in one pass.
type LoadError struct {
	Files []*FileError
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Files))
	for i, f := range e.Files {
		lines[i] = "trust: " + f.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.Is access to every file's error.
func (e *LoadError) Unwrap() []error {
	out := make([]error, len(e.Files))
	for i, f := range e.Files {
		out[i] = f
	}
	return out
}

// Load reads roots and intermediates from PEM or DER files, or from
// directories of such files (not recursive; names starting with "." are
// skipped). Every bad file is reported in a *LoadError.
func Load(roots, intermediates []string) (*Store, error) {
	return LoadDir(roots, intermediates, "")
}

// LoadDir is Load plus the managed directory dir (see [Managed]); "" means
// none. Its subdirectories need not exist yet.
func LoadDir(roots, intermediates []string, dir string) (*Store, error) {
	l := &loader{}
	for _, p := range roots {
		l.path(p, KindRoot, false)
	}
	for _, p := range intermediates {
		l.path(p, KindIntermediate, false)
	}
	if dir != "" {
		m := Managed{Dir: dir}
		l.path(m.dirOf(KindRoot), KindRoot, true)
		l.path(m.dirOf(KindIntermediate), KindIntermediate, true)
	}
	if len(l.errs) > 0 {
		return nil, &LoadError{Files: l.errs}
	}
	return newStore(l.entries), nil
}

type loader struct {
	entries []Entry
	errs    []*FileError
}

func (l *loader) fail(path string, kind Kind, err error) {
	l.errs = append(l.errs, &FileError{Path: path, Kind: kind, Err: err})
}

func (l *loader) path(path string, kind Kind, mayBeMissing bool) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && mayBeMissing {
		return
	}
	if err != nil {
		l.fail(path, kind, err)
		return
	}
	if !fi.IsDir() {
		l.file(path, kind)
		return
	}
	names, err := os.ReadDir(path)
	if err != nil {
		l.fail(path, kind, err)
		return
	}
	for _, d := range names {
		if strings.HasPrefix(d.Name(), ".") || d.IsDir() {
			continue
		}
		l.file(filepath.Join(path, d.Name()), kind)
	}
}

func (l *loader) file(path string, kind Kind) {
	certs, err := ReadFile(path)
	if err != nil {
		l.fail(path, kind, err)
		return
	}
	for _, c := range certs {
		l.entries = append(l.entries, Entry{Cert: c, Kind: kind, File: path})
	}
}

// ReadFile reads the certificates of one PEM or DER file.
func ReadFile(path string) ([]*x509.Certificate, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	return ParseCertificates(data)
}

func readLimited(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrBadFile)
	}
	if fi.Size() > maxFileBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadFile, maxFileBytes)
	}
	return os.ReadFile(path)
}

// ParseCertificates parses PEM (every CERTIFICATE block; other blocks are
// ignored) or else DER (one or more concatenated certificates).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		certs, err := x509.ParseCertificates(data)
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("%w: neither PEM nor DER: %w", ErrBadFile, orEmpty(err))
		}
		return certs, nil
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" && block.Type != "TRUSTED CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrBadFile, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block in PEM", ErrBadFile)
	}
	return certs, nil
}

func orEmpty(err error) error {
	if err == nil {
		return errors.New("empty")
	}
	return err
}

func newStore(entries []Entry) *Store {
	s := &Store{
		roots:     x509.NewCertPool(),
		interPool: x509.NewCertPool(),
		bySubject: map[string][]*x509.Certificate{},
		rootFP:    map[[32]byte]bool{},
	}
	seen := map[[32]byte]bool{}
	sort.SliceStable(entries, func(i, j int) bool {
		return entries[i].Kind == KindRoot && entries[j].Kind != KindRoot
	})
	for _, e := range entries {
		fp := sha256.Sum256(e.Cert.Raw)
		if seen[fp] {
			continue // listed twice, or a root also listed as intermediate: root wins
		}
		seen[fp] = true
		s.entries = append(s.entries, e)
		if e.Kind == KindRoot {
			s.roots.AddCert(e.Cert)
			s.rootFP[fp] = true
		} else {
			s.inters = append(s.inters, e.Cert)
			s.interPool.AddCert(e.Cert)
		}
		k := string(e.Cert.RawSubject)
		s.bySubject[k] = append(s.bySubject[k], e.Cert)
	}
	return s
}

// Entries returns every certificate, roots first.
func (s *Store) Entries() []Entry { return append([]Entry(nil), s.entries...) }

// Roots returns the trust anchors.
func (s *Store) Roots() []*x509.Certificate { return s.certs(KindRoot) }

// Intermediates returns the configured intermediates.
func (s *Store) Intermediates() []*x509.Certificate { return s.certs(KindIntermediate) }

func (s *Store) certs(kind Kind) []*x509.Certificate {
	var out []*x509.Certificate
	for _, e := range s.entries {
		if e.Kind == kind {
			out = append(out, e.Cert)
		}
	}
	return out
}

// Fingerprint is the lowercase hex SHA-256 of the certificate's DER, the
// identity `trust list` shows and `trust remove` takes.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
