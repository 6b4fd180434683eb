package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/smime/revocation"
)

func init() {
	register("crl", command{
		summary: "manage cached certificate revocation lists: import, list",
		run:     runCRL,
	})
}

func runCRL(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runGroup("crl", args, stdin, stdout, stderr, crlUsage, map[string]subcommand{
		"import": func(a []string, _ io.Reader, o, e io.Writer) int { return crlImport(a, o, e) },
		"list":   func(a []string, _ io.Reader, o, e io.Writer) int { return crlList(a, o, e) },
	})
}

func crlUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  smimeproxy crl import -config FILE CRLFILE
  smimeproxy crl list   -config FILE

import adds a CRL (DER or PEM) obtained by hand, for CAs whose CRLs the
proxy cannot download. It must be signed by a root or intermediate of the
trust store and not be expired; it replaces an older imported CRL of the
same CA. It is stored in [revocation] cache_dir, where a running serve finds
it at its next check. list shows the imported and downloaded CRLs.
`)
}

// revocationOptions maps [revocation] onto the checker's options; serve
// uses the same mapping.
func revocationOptions(cfg *config.Config, log hclog.Logger) revocation.Options {
	r := cfg.Revocation
	return revocation.Options{
		Mode:        revocation.Mode(r.Mode),
		Timeout:     r.Timeout,
		CacheDir:    r.CacheDir,
		MaxCRLBytes: r.MaxCRLBytes,
		Logger:      log,
	}
}

func crlImport(args []string, stdout, stderr io.Writer) int {
	f := newSubFlags("crl import", stderr)
	cfg, code := f.load(args, 1, stderr)
	if code >= 0 {
		return code
	}
	store, err := loadTrustStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	data, err := readLimited(f.fs.Arg(0), cfg.Revocation.MaxCRLBytes)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy crl import: %v\n", err)
		return 1
	}
	svc, err := revocation.New(revocationOptions(cfg, nil))
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy crl import: %v\n", err)
		return 1
	}
	info, err := svc.Import(data, store)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy crl import: %s: %v\n", f.fs.Arg(0), err)
		return 1
	}
	fmt.Fprintf(stdout, "imported CRL of %q: %d revoked, this update %s, next update %s\n",
		info.Issuer, info.Entries, timeOrDash(info.ThisUpdate), timeOrDash(info.NextUpdate))
	return 0
}

func crlList(args []string, stdout, stderr io.Writer) int {
	f := newSubFlags("crl list", stderr)
	cfg, code := f.load(args, 0, stderr)
	if code >= 0 {
		return code
	}
	svc, err := revocation.New(revocationOptions(cfg, nil))
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy crl list: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ISSUER\tTHIS UPDATE\tNEXT UPDATE\tENTRIES\tSOURCE")
	for _, c := range svc.CRLs() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Issuer, timeOrDash(c.ThisUpdate),
			timeOrDash(c.NextUpdate), c.Entries, c.Source)
	}
	tw.Flush()
	return 0
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
