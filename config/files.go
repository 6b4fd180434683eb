package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// readError says why a file could not be read, in words an operator acts on.
func readError(err error) string {
	var pe *fs.PathError
	path := ""
	if errors.As(err, &pe) {
		path = pe.Path
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "file " + quote(path) + " does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "file " + quote(path) + " is not readable (permission denied)"
	}
	return err.Error()
}

func quote(s string) string { return `"` + s + `"` }

// checkReadable reports a problem unless path is a regular file we can open.
func checkReadable(c *collector, key, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		c.problem(key, "%s", readError(err))
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		c.problem(key, "%q is not a regular file", path)
		return false
	}
	return true
}

func checkCAFile(c *collector, key, path string) {
	if !checkReadable(c, key, path) {
		return
	}
	if _, err := loadCAPool(path); err != nil {
		c.problem(key, "%q: %v", path, err)
	}
}

func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}

func checkMasterKeyFile(c *collector, path string, opts Options) {
	const key = "keystore.master_key_file"
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && opts.MasterKeyMayBeMissing {
		return
	}
	if errors.Is(err, fs.ErrNotExist) {
		c.problem(key, "file %q does not exist; create it with `smimeproxy keys init`", path)
		return
	}
	if !checkReadable(c, key, path) {
		return
	}
	// The keystore refuses such a file at start (a key others can read is no
	// secret); Windows has no such mode bits.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		c.problem(key, "%q may be read or written by group or others (mode %04o); "+
			"chmod 600 it", path, fi.Mode().Perm())
		return
	}
	text, err := os.ReadFile(path)
	if err != nil {
		c.problem(key, "%s", readError(err))
		return
	}
	defer clear(text)
	if err := checkMasterKeyText(text); err != nil {
		c.problem(key, "%q %v; `smimeproxy keys init` writes a valid one", path, err)
	}
}

// checkServerTLS needs both files or neither, and checks that they load as a
// key pair. A certificate that has expired or soon will is only a warning:
// serving it is the operator's call, clients will complain.
func checkServerTLS(c *collector, t *TLS, opts Options) {
	if !t.Enabled() {
		return
	}
	if t.CertFile == "" {
		c.problem("tls.cert_file", "required when tls.key_file is set")
		return
	}
	if t.KeyFile == "" {
		c.problem("tls.key_file", "required when tls.cert_file is set")
		return
	}
	certOK := checkReadable(c, "tls.cert_file", t.CertFile)
	keyOK := checkReadable(c, "tls.key_file", t.KeyFile)
	if !certOK || !keyOK {
		return
	}
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		c.problem("tls.cert_file", "cannot load with tls.key_file: %v", err)
		return
	}
	warnExpiry(c, pair.Leaf, opts.Now())
}

func warnExpiry(c *collector, leaf *x509.Certificate, now time.Time) {
	if leaf == nil {
		return
	}
	switch {
	case now.After(leaf.NotAfter):
		c.warn("tls.cert_file", "certificate expired on %s", leaf.NotAfter.Format(time.DateOnly))
	case now.Add(14 * 24 * time.Hour).After(leaf.NotAfter):
		c.warn("tls.cert_file", "certificate expires on %s",
			leaf.NotAfter.Format(time.DateOnly))
	}
}
