package revocation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The disk cache: CacheDir/crl/NAME.crl (DER as received) beside NAME.json
// (where it came from), and CacheDir/ocsp/KEY.der. NAME is a hash of the URL
// for fetched CRLs and "imported-" plus a hash of the DER for imported ones.

type crlMeta struct {
	URL     string    `json:"url,omitempty"` // "" = imported
	Fetched time.Time `json:"fetched"`
}

func (s *Service) crlDir() string  { return filepath.Join(s.opts.CacheDir, "crl") }
func (s *Service) ocspDir() string { return filepath.Join(s.opts.CacheDir, "ocsp") }

func hashName(data string) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:16])
}

// openCache creates the cache directories and loads the CRLs in them.
func (s *Service) openCache() error {
	if s.opts.CacheDir == "" {
		return nil
	}
	for _, d := range []string{s.crlDir(), s.ocspDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("revocation: cache: %w", err)
		}
	}
	s.rescan()
	return nil
}

// rescan loads CRLs written since the last scan, also by another process
// (`smimeproxy crl import` while serve runs). It reports whether anything
// changed. It costs one stat when nothing did.
func (s *Service) rescan() bool {
	if s.opts.CacheDir == "" {
		return false
	}
	fi, err := os.Stat(s.crlDir())
	if err != nil {
		return false
	}
	s.mu.RLock()
	same := fi.ModTime().Equal(s.scanned)
	s.mu.RUnlock()
	if same {
		return false
	}
	fetched, imported := s.readCRLDir()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanned = fi.ModTime()
	for _, r := range fetched {
		if old := s.byURL[r.url]; old == nil || old.list.ThisUpdate.Before(r.list.ThisUpdate) {
			s.byURL[r.url] = r
		}
	}
	s.imported = keepKnown(s.imported, imported)
	return true
}

// keepKnown returns disk's imported records, reusing the in-memory record of
// the same file so that its verification results survive.
func keepKnown(mem, disk []*crlRecord) []*crlRecord {
	byBase := map[string]*crlRecord{}
	for _, r := range mem {
		byBase[r.base] = r
	}
	out := make([]*crlRecord, 0, len(disk))
	for _, r := range disk {
		if old := byBase[r.base]; old != nil {
			r = old
		}
		out = append(out, r)
	}
	return out
}

func (s *Service) readCRLDir() (fetched, imported []*crlRecord) {
	entries, err := os.ReadDir(s.crlDir())
	if err != nil {
		s.log.Warn("cannot read CRL cache", "dir", s.crlDir(), "error", err)
		return nil, nil
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".crl")
		if !ok || strings.HasPrefix(base, ".") {
			continue
		}
		r, err := s.readCRLFile(base)
		if err != nil {
			s.log.Warn("ignoring cached CRL", "file", e.Name(), "error", err)
			continue
		}
		if r.url == "" {
			imported = append(imported, r)
		} else {
			fetched = append(fetched, r)
		}
	}
	return fetched, imported
}

func (s *Service) readCRLFile(base string) (*crlRecord, error) {
	path := filepath.Join(s.crlDir(), base)
	der, err := os.ReadFile(path + ".crl")
	if err != nil {
		return nil, err
	}
	list, err := parseCRL(der)
	if err != nil {
		return nil, err
	}
	var meta crlMeta
	if data, err := os.ReadFile(path + ".json"); err == nil {
		if err := json.Unmarshal(data, &meta); err != nil {
			return nil, fmt.Errorf("%s.json: %w", base, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	r := newCRLRecord(list, meta.URL, meta.Fetched)
	r.base = base
	return r, nil
}

// saveCRL writes the CRL and its metadata; the .crl file is renamed into
// place last, so a reader never finds a CRL without its metadata.
func (s *Service) saveCRL(r *crlRecord, der []byte) error {
	if s.opts.CacheDir == "" {
		return nil
	}
	if r.base == "" {
		r.base = hashName(r.url)
		if r.url == "" {
			r.base = "imported-" + hashName(string(der))
		}
	}
	meta, err := json.Marshal(crlMeta{URL: r.url, Fetched: r.fetched.UTC()})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.crlDir(), r.base+".json", meta); err != nil {
		return err
	}
	return writeFileAtomic(s.crlDir(), r.base+".crl", der)
}

func (s *Service) removeCRLFiles(base string) error {
	p := filepath.Join(s.crlDir(), base)
	err := os.Remove(p + ".crl")
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if jerr := os.Remove(p + ".json"); jerr != nil && !errors.Is(jerr, fs.ErrNotExist) {
		err = errors.Join(err, jerr)
	}
	return err
}

// writeFileAtomic writes dir/name through a temporary file and a rename.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
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
	}
	return werr
}
