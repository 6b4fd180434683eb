package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testEnv is everything the tests share in one test process: made once in
// TestMain, read-only afterwards.
type testEnv struct {
	dir      string // temp dir removed at exit; mode 0755 so Dovecot's users can read it
	binary   string // the built smimeproxy
	buildErr error  // why the binary could not be built
	missing  string // why the environment cannot run the tests ("" when it can)
	pki      *testPKI
	corpus   *corpus
}

var env testEnv

func TestMain(m *testing.M) {
	code, err := setupAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setupAndRun(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "smimeproxy-integration-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	// Dovecot's auth and mail processes (users dovecot, vmail) must be able
	// to traverse into the temp dirs the tests make below this one.
	if err := os.Chmod(dir, 0o755); err != nil {
		return 0, err
	}
	env.dir = dir
	env.missing = missingPrerequisites()
	if env.missing == "" {
		if err := prepareShared(dir); err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}

// prepareShared builds the binary and makes the PKI and message corpus.
func prepareShared(dir string) error {
	env.binary = filepath.Join(dir, "smimeproxy")
	env.buildErr = goBuild(env.binary)

	pki, err := newTestPKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("make test PKI: %w", err)
	}
	env.pki = pki
	c, err := newCorpus(filepath.Join(dir, "corpus"), pki)
	if err != nil {
		return fmt.Errorf("make test messages: %w", err)
	}
	env.corpus = c
	return nil
}

func goBuild(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/smimeproxy")
	cmd.Dir = ".." // the repository root, seen from this package's directory
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/smimeproxy: %w\n%s", err, stderr.String())
	}
	return nil
}

// missingPrerequisites says what this machine lacks to run the tests.
func missingPrerequisites() string {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (Dovecot must switch to the vmail user)")
	}
	for _, tool := range []string{"dovecot", "doveadm", "openssl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := lookupVmail(); err != nil {
		missing = append(missing, "system user vmail")
	}
	if len(missing) == 0 {
		return ""
	}
	return "missing " + strings.Join(missing, ", ") + " (run `make deps` as root)"
}

// requireEnv skips the test when the machine cannot run it, or fails it
// under CI=true where a skip would hide that nothing was tested.
func requireEnv(tb testing.TB) {
	tb.Helper()
	if env.missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("integration tests cannot run: %s", env.missing)
	}
	tb.Skipf("integration tests skipped: %s", env.missing)
}

// requireBinary is requireEnv plus a built smimeproxy.
func requireBinary(tb testing.TB) {
	tb.Helper()
	requireEnv(tb)
	if env.buildErr != nil {
		tb.Fatal(env.buildErr)
	}
}

// testDir makes a temp dir that Dovecot's unprivileged processes can enter,
// removed when the test ends.
func testDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp(env.dir, "t-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// run runs a command and returns its stdout, or an error with its stderr.
func run(dir string, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err,
			stderr.String())
	}
	return stdout.Bytes(), nil
}
