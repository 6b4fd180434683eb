package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// requireChromium returns the browser to drive, skipping the test when
// there is none, or failing it under CI=true, where a skip would hide that
// the dashboard was never looked at (`make deps` installs it).
func requireChromium(tb testing.TB) string {
	tb.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		found, lookErr := exec.LookPath("chromium")
		if lookErr != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("chromium is missing (%v); run `make deps` as root", err)
			}
			tb.Skipf("browser test skipped: chromium is missing (%v)", err)
		}
		path = found
	}
	return path
}

// newBrowser starts headless Chromium with the flags this machine needs:
// no sandbox (tests run as root), no GPU, and no background traffic to
// Google's hosts, which a closed network refuses. It stops when the test
// ends.
func newBrowser(tb testing.TB, path string) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(testDir(tb), "chromium")),
		chromedp.WindowSize(1366, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	// The first action starts the browser, bound to ctx.
	if err := chromedp.Do(browserCtx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return browserCtx
}

// waitText polls the text of the element matched by sel until it equals
// want or the timeout passes (the page refreshes every 3 seconds); it
// returns the last text seen.
func waitText(ctx context.Context, sel, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			return got, err
		}
		if got == want || time.Now().After(deadline) {
			return got, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// screenshot saves the whole page as PNG under dir, and also under
// $DASHBOARD_SCREENSHOT_DIR when that is set (to look at it after the
// test's temp dir is gone).
func screenshot(tb testing.TB, ctx context.Context, dir, name string) {
	tb.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot: %v", err)
	}
	dirs := []string{dir}
	if extra := os.Getenv("DASHBOARD_SCREENSHOT_DIR"); extra != "" {
		dirs = append(dirs, extra)
	}
	for _, d := range dirs {
		path := filepath.Join(d, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("screenshot: %s", path)
	}
}
