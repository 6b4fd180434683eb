package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/trust"
)

// Trust lists the certificates signer chains are built to. Roots and
// intermediates are PEM or DER files or directories of them; Dir is the
// directory `smimeproxy trust add|remove` manage (its roots/ and
// intermediates/ subdirectories are read too), so that those commands never
// rewrite this file.
type Trust struct {
	Roots         []string `toml:"roots"`
	Intermediates []string `toml:"intermediates"`
	Dir           string   `toml:"dir"` // "" = no managed directory
}

// Revocation configures CRL and OCSP checks of signer certificates.
type Revocation struct {
	Mode        string        `toml:"mode"`      // "crl" | "ocsp" | "both" | "off"
	FailOpen    bool          `toml:"fail_open"` // unreachable source: pass instead of temperror
	Timeout     time.Duration `toml:"timeout"`   // per HTTP request
	CacheDir    string        `toml:"cache_dir"` // CRLs and OCSP responses; "" = memory only
	MaxCRLBytes int64         `toml:"max_crl_bytes"`
}

// Defaults of [trust] and [revocation]. The example config states the same.
const (
	DefaultTrustDir           = "/var/lib/smimeproxy/trust"
	DefaultRevocationMode     = "crl"
	DefaultRevocationTimeout  = 5 * time.Second
	DefaultRevocationCacheDir = "/var/lib/smimeproxy/revocation"
	DefaultMaxCRLBytes        = 10 << 20
)

func defaultTrust() Trust { return Trust{Dir: DefaultTrustDir} }

func defaultRevocation() Revocation {
	return Revocation{
		Mode:        DefaultRevocationMode,
		Timeout:     DefaultRevocationTimeout,
		CacheDir:    DefaultRevocationCacheDir,
		MaxCRLBytes: DefaultMaxCRLBytes,
	}
}

// checkTrust resolves the paths and loads the store the way serve will, so
// that every unreadable or malformed certificate file is reported with its
// name.
func checkTrust(c *collector, t *Trust, dir string) {
	for i := range t.Roots {
		t.Roots[i] = absPath(dir, t.Roots[i])
	}
	for i := range t.Intermediates {
		t.Intermediates[i] = absPath(dir, t.Intermediates[i])
	}
	t.Dir = absPath(dir, t.Dir)
	checkDirOrMissing(c, "trust.dir", t.Dir)
	_, err := trust.LoadDir(t.Roots, t.Intermediates, t.Dir)
	var lerr *trust.LoadError
	if !errors.As(err, &lerr) {
		return
	}
	for _, f := range lerr.Files {
		key := "trust.roots"
		switch {
		case t.Dir != "" && strings.HasPrefix(f.Path, t.Dir+string(filepath.Separator)):
			key = "trust.dir"
		case f.Kind == trust.KindIntermediate:
			key = "trust.intermediates"
		}
		c.problem(key, "%s", describeFileError(f))
	}
}

func describeFileError(f *trust.FileError) string {
	if errors.Is(f.Err, os.ErrNotExist) || errors.Is(f.Err, os.ErrPermission) {
		return readError(f.Err)
	}
	return quote(f.Path) + ": " + f.Err.Error()
}

func checkRevocation(c *collector, r *Revocation, dir string) {
	checkEnum(c, "revocation.mode", r.Mode, "crl", "ocsp", "both", "off")
	checkPositive(c, "revocation.timeout", int64(r.Timeout))
	checkPositive(c, "revocation.max_crl_bytes", r.MaxCRLBytes)
	r.CacheDir = absPath(dir, r.CacheDir)
	checkDirOrMissing(c, "revocation.cache_dir", r.CacheDir)
	if r.Mode == "off" {
		c.warn("revocation.mode", `is "off": revoked signer certificates are reported as valid`)
	}
	if r.FailOpen && r.Mode != "off" {
		c.warn("revocation.fail_open", "is true: when a CRL or OCSP server cannot be "+
			"reached, signatures pass as if the certificate were not revoked")
	}
}

func absPath(dir, p string) string {
	if p != "" && !filepath.IsAbs(p) {
		return filepath.Join(dir, p)
	}
	return p
}

// checkDirOrMissing accepts a directory or a path that does not exist yet
// (the commands that write there create it).
func checkDirOrMissing(c *collector, key, path string) {
	if path == "" {
		return
	}
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		c.problem(key, "%q is not a directory", path)
	}
}
