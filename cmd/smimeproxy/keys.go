package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/keystore"
)

func init() {
	register("keys", command{
		summary: "manage users' S/MIME keys: init, import, list, remove",
		run:     runKeys,
	})
}

// maxP12Bytes bounds the PKCS#12 file read; real ones are a few KB.
const maxP12Bytes = 1 << 20

func runKeys(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runGroup("keys", args, stdin, stdout, stderr, keysUsage, map[string]subcommand{
		"init":          func(a []string, _ io.Reader, o, e io.Writer) int { return keysInit(a, o, e) },
		"import":        keysImport,
		"import-secret": keysImportSecret,
		"list":          func(a []string, _ io.Reader, o, e io.Writer) int { return keysList(a, o, e) },
		"remove":        func(a []string, _ io.Reader, o, e io.Writer) int { return keysRemove(a, o, e) },
	})
}

func keysUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  smimeproxy keys init   -config FILE
  smimeproxy keys import -config FILE -user USER -p12 FILE [-password-file FILE]
  smimeproxy keys import-secret -config FILE -user USER -kind kek|password -id ID
                         [-secret-file FILE]
  smimeproxy keys list   -config FILE [-user USER]
  smimeproxy keys remove -config FILE -user USER -id KEYID

The PKCS#12 password comes from -password-file (one trailing newline is
dropped), else from the first line of standard input (not echoed on a
terminal).

import-secret stores a symmetric secret for messages encrypted to a shared
key (openssl cms -secretkey HEX -secretkeyid HEX: -kind kek, -id the key
identifier in hex, the secret the key in hex) or to a password (-pwri_password:
-kind password, -id a label, the secret the password). The secret is read
like the PKCS#12 password.
`)
}

// keysFlags is the flag set of one subcommand; usage errors exit 2.
type keysFlags struct {
	fs                            *flag.FlagSet
	config, user, p12, pwFile, id string
}

func newKeysFlags(name string, stderr io.Writer) *keysFlags {
	f := &keysFlags{fs: flag.NewFlagSet("smimeproxy keys "+name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.config, "config", "", "config `file` (required)")
	return f
}

// parse parses args and checks that the named flags are set. It returns
// an exit code, or -1 to go on.
func (f *keysFlags) parse(args []string, stderr io.Writer, required ...string) int {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", f.fs.Name(), f.fs.Arg(0))
		return 2
	}
	for _, name := range append([]string{"config"}, required...) {
		if f.fs.Lookup(name).Value.String() == "" {
			fmt.Fprintf(stderr, "%s: -%s is required\n", f.fs.Name(), name)
			f.fs.Usage()
			return 2
		}
	}
	return -1
}

func keysInit(args []string, stdout, stderr io.Writer) int {
	f := newKeysFlags("init", stderr)
	if code := f.parse(args, stderr); code >= 0 {
		return code
	}
	cfg, err := config.LoadWith(f.config, config.Options{MasterKeyMayBeMissing: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ks := cfg.Keystore
	if ks.MasterKeyEnv != "" {
		fmt.Fprintf(stdout, "master key comes from environment variable %s; "+
			"make one with: head -c 32 /dev/urandom | base64\n", ks.MasterKeyEnv)
	} else if err := initMasterKeyFile(ks.MasterKeyFile, stdout); err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys init: %v\n", err)
		return 1
	}
	// Opening checks the master key and creates the vault directory.
	if _, err := openVault(cfg); err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "vault directory %s is ready\n", ks.Path)
	return 0
}

func initMasterKeyFile(path string, stdout io.Writer) error {
	created, err := keystore.InitMasterKey(path)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created master key %s (mode 0600); back it up: "+
			"without it no stored key can be opened\n", path)
	} else {
		fmt.Fprintf(stdout, "master key %s exists; left unchanged\n", path)
	}
	return nil
}

// loadVault is the common start of import, list and remove.
func loadVault(path string, stderr io.Writer) (*keystore.FileVault, bool) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	// openVault (serve.go) is shared with serve, so both read the master
	// key the same way.
	v, err := openVault(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys: %v\n", err)
		return nil, false
	}
	return v, true
}

func keysImport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newKeysFlags("import", stderr)
	f.fs.StringVar(&f.user, "user", "", "mailbox login `name` the key belongs to (required)")
	f.fs.StringVar(&f.p12, "p12", "", "PKCS#12 `file` to import (required)")
	f.fs.StringVar(&f.pwFile, "password-file", "", "`file` holding the PKCS#12 password")
	if code := f.parse(args, stderr, "user", "p12"); code >= 0 {
		return code
	}
	v, ok := loadVault(f.config, stderr)
	if !ok {
		return 1
	}
	p12, err := readLimited(f.p12, maxP12Bytes)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys import: %v\n", err)
		return 1
	}
	password, err := readPassword(f.pwFile, stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys import: password: %v\n", err)
		return 1
	}
	infos, err := v.ImportPKCS12(f.user, p12, password)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys import: %s: %v\n", f.p12, err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d key(s) for %s:\n", len(infos), keystore.NormalizeUser(f.user))
	printKeyTable(stdout, infos)
	return 0
}

// readPassword reads the password from file, or else one line of stdin,
// without echo when stdin is a terminal. Only a trailing line break is
// removed: spaces can be part of a password.
func readPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	if file != "" {
		data, err := readLimited(file, 4096)
		if err != nil {
			return "", err
		}
		return trimNewline(string(data)), nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "PKCS#12 password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(pw), err
	}
	line, err := bufio.NewReaderSize(stdin, 4096).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("no line on standard input: %w", err)
	}
	return trimNewline(line), nil
}

func trimNewline(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// readLimited reads a file that must not exceed limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

func keysList(args []string, stdout, stderr io.Writer) int {
	f := newKeysFlags("list", stderr)
	f.fs.StringVar(&f.user, "user", "", "list only this user's keys")
	if code := f.parse(args, stderr); code >= 0 {
		return code
	}
	v, ok := loadVault(f.config, stderr)
	if !ok {
		return 1
	}
	infos, err := v.List(context.Background(), f.user)
	if err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys list: %v\n", err)
		return 1
	}
	printKeyTable(stdout, infos)
	return 0
}

func keysRemove(args []string, stdout, stderr io.Writer) int {
	f := newKeysFlags("remove", stderr)
	f.fs.StringVar(&f.user, "user", "", "the key's user (required)")
	f.fs.StringVar(&f.id, "id", "", "key id as shown by keys list (required)")
	if code := f.parse(args, stderr, "user", "id"); code >= 0 {
		return code
	}
	v, ok := loadVault(f.config, stderr)
	if !ok {
		return 1
	}
	if err := v.Remove(f.user, f.id); err != nil {
		fmt.Fprintf(stderr, "smimeproxy keys remove: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "removed key %s of %s\n", f.id, keystore.NormalizeUser(f.user))
	return 0
}

// printKeyTable writes one row per key, in UTC.
func printKeyTable(w io.Writer, infos []keystore.KeyInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tKEY ID\tSUBJECT\tISSUER\tSERIAL\tSKI\tNOT BEFORE\tNOT AFTER\tALGORITHM")
	for _, k := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.User, k.ID, k.Subject,
			k.Issuer, k.Serial, orDash(k.SKI), k.NotBefore.UTC().Format(time.RFC3339),
			k.NotAfter.UTC().Format(time.RFC3339), k.Algorithm)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
