package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/smime/trust"
)

func init() {
	register("trust", command{
		summary: "manage trusted S/MIME roots and intermediates: list, add, remove",
		run:     runTrust,
	})
}

func runTrust(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runGroup("trust", args, stdin, stdout, stderr, trustUsage, map[string]subcommand{
		"list":   func(a []string, _ io.Reader, o, e io.Writer) int { return trustList(a, o, e) },
		"add":    func(a []string, _ io.Reader, o, e io.Writer) int { return trustAdd(a, o, e) },
		"remove": func(a []string, _ io.Reader, o, e io.Writer) int { return trustRemove(a, o, e) },
	})
}

func trustUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  smimeproxy trust list   -config FILE
  smimeproxy trust add    -config FILE [-intermediate] CERTFILE
  smimeproxy trust remove -config FILE FINGERPRINT

add copies the certificates of CERTFILE (PEM or DER) into the directory
named by [trust] dir, as roots or with -intermediate as intermediates;
remove deletes one from there by its SHA-256 fingerprint (as shown by list,
or its first 8 or more hex digits). Neither edits the config file; the
certificates listed in [trust] roots and intermediates are changed there.
A running serve reads the changes when it reloads (SIGHUP).
`)
}

// subFlags is the flag set of a trust or crl subcommand: -config plus its
// own flags, and nargs positional arguments.
type subFlags struct {
	fs     *flag.FlagSet
	config string
}

func newSubFlags(name string, stderr io.Writer) *subFlags {
	f := &subFlags{fs: flag.NewFlagSet("smimeproxy "+name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.config, "config", "", "config `file` (required)")
	return f
}

// parse returns an exit code, or -1 to go on.
func (f *subFlags) parse(args []string, nargs int, stderr io.Writer) int {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case f.config == "":
		fmt.Fprintf(stderr, "%s: -config is required\n", f.fs.Name())
	case f.fs.NArg() != nargs:
		fmt.Fprintf(stderr, "%s: want %d argument(s), got %d\n", f.fs.Name(), nargs,
			f.fs.NArg())
	default:
		return -1
	}
	return 2
}

// loadConfigForTools loads the config for trust and crl commands, which do
// not need the vault's master key.
// load parses args and loads the config they name; code is an exit code
// to return at once, or -1 to go on.
func (f *subFlags) load(args []string, nargs int, stderr io.Writer) (cfg *config.Config, code int) {
	if code := f.parse(args, nargs, stderr); code >= 0 {
		return nil, code
	}
	cfg, ok := loadConfigForTools(f.config, stderr)
	if !ok {
		return nil, 1
	}
	return cfg, -1
}

func loadConfigForTools(path string, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.LoadWith(path, config.Options{MasterKeyMayBeMissing: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return cfg, true
}

// loadTrustStore builds the trust store from [trust] the way serve does.
func loadTrustStore(cfg *config.Config) (*trust.Store, error) {
	t := cfg.Trust
	return trust.LoadDir(t.Roots, t.Intermediates, t.Dir)
}

func trustList(args []string, stdout, stderr io.Writer) int {
	f := newSubFlags("trust list", stderr)
	cfg, code := f.load(args, 0, stderr)
	if code >= 0 {
		return code
	}
	store, err := loadTrustStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSUBJECT\tISSUER\tSERIAL\tSHA-256\tNOT AFTER\tFILE")
	for _, e := range store.Entries() {
		c := e.Cert
		fmt.Fprintf(tw, "%s\t%s\t%s\t%X\t%s\t%s\t%s\n", e.Kind, c.Subject, c.Issuer,
			c.SerialNumber, trust.Fingerprint(c), c.NotAfter.UTC().Format(time.RFC3339), e.File)
	}
	tw.Flush()
	if len(store.Roots()) == 0 {
		fmt.Fprintln(stderr, "note: no roots are configured: every signature is untrusted")
	}
	return 0
}

func trustAdd(args []string, stdout, stderr io.Writer) int {
	f := newSubFlags("trust add", stderr)
	inter := f.fs.Bool("intermediate", false, "add as intermediate instead of root")
	cfg, code := f.load(args, 1, stderr)
	if code >= 0 {
		return code
	}
	if cfg.Trust.Dir == "" {
		fmt.Fprintln(stderr, "smimeproxy trust add: [trust] dir is empty: set it, or list "+
			"the file in [trust] roots or intermediates")
		return 1
	}
	certs, err := trust.ReadFile(f.fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy trust add: %s: %v\n", f.fs.Arg(0), err)
		return 1
	}
	kind := trust.KindRoot
	if *inter {
		kind = trust.KindIntermediate
	}
	m := trust.Managed{Dir: cfg.Trust.Dir}
	for _, c := range certs {
		if err := addOne(m, c, kind, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "smimeproxy trust add: %v\n", err)
			return 1
		}
	}
	return 0
}

func addOne(m trust.Managed, c *x509.Certificate, kind trust.Kind,
	stdout, stderr io.Writer) error {
	path, added, err := m.Add(c, kind)
	if err != nil {
		return err
	}
	if !added {
		fmt.Fprintf(stdout, "%s %q is already trusted (%s)\n", kind, c.Subject, path)
		return nil
	}
	fmt.Fprintf(stdout, "added %s %q, SHA-256 %s, to %s\n", kind, c.Subject,
		trust.Fingerprint(c), path)
	if kind == trust.KindRoot && !(c.BasicConstraintsValid && c.IsCA) {
		fmt.Fprintf(stderr, "note: %q is not a CA certificate: only that certificate "+
			"itself is trusted\n", c.Subject)
	}
	return nil
}

func trustRemove(args []string, stdout, stderr io.Writer) int {
	f := newSubFlags("trust remove", stderr)
	cfg, code := f.load(args, 1, stderr)
	if code >= 0 {
		return code
	}
	fp := f.fs.Arg(0)
	if cfg.Trust.Dir == "" {
		fmt.Fprintln(stderr, "smimeproxy trust remove: [trust] dir is empty")
		return 1
	}
	e, err := trust.Managed{Dir: cfg.Trust.Dir}.Remove(fp)
	if errors.Is(err, trust.ErrNotFound) {
		if file := configuredFile(cfg, fp); file != "" {
			fmt.Fprintf(stderr, "smimeproxy trust remove: %s comes from %s, listed in the "+
				"config's [trust] section: edit the config or that file\n", fp, file)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy trust remove: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "removed %s %q (%s)\n", e.Kind, e.Cert.Subject, e.File)
	return 0
}

// configuredFile finds the configured file that holds the certificate with
// fingerprint (prefix) fp, to explain why remove cannot remove it.
func configuredFile(cfg *config.Config, fp string) string {
	store, err := trust.Load(cfg.Trust.Roots, cfg.Trust.Intermediates)
	if err != nil {
		return ""
	}
	for _, e := range store.Entries() {
		if trust.MatchFingerprint(e.Cert, fp) {
			return e.File
		}
	}
	return ""
}
