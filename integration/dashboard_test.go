package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// adminToken opens the test proxy's admin server.
const adminToken = "integration-admin-token-0123456789"

// startAdminProxy is startProxy with [admin] on a free loopback port; it
// returns the proxy and the admin server's base URL.
func startAdminProxy(tb testing.TB, d *dovecot, opts proxyOptions) (*proxy, string) {
	tb.Helper()
	ports, err := freePorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	addr := loopback(ports[0])
	tokenFile := filepath.Join(testDir(tb), "admin.token")
	if err := os.WriteFile(tokenFile, []byte(adminToken+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	opts.extraConfig += fmt.Sprintf("\n[admin]\nlisten = %q\ntoken_file = %q\n", addr, tokenFile)
	px := startProxy(tb, d, opts)
	if err := waitPort(addr, 10*time.Second, px.exited); err != nil {
		tb.Fatalf("admin server: %v\n%s", err, readFile(px.logPath))
	}
	return px, "http://" + addr
}

// readCorpus fetches every S/MIME message of the corpus through c once and
// returns how many the proxy should have decrypted and not.
func readCorpus(t *testing.T, c *imapclient.Client) (decrypted, failed int) {
	t.Helper()
	uids := uidsByMessageID(t, c)
	for _, m := range env.corpus.messages {
		if !m.smime() {
			continue
		}
		wholeBody(t, c, uids[m.messageID()])
		if m.decrypts() {
			decrypted++
		} else {
			failed++
		}
	}
	return decrypted, failed
}

// TestDashboard drives the dashboard in headless Chromium: after IMAP
// traffic that decrypts some messages and fails on others, the page shows
// the same counts and the session that is still open (issue 6).
func TestDashboard(t *testing.T) {
	requireBinary(t)
	browserPath := requireChromium(t)
	dv := startDovecot(t)
	dv.deliverCorpus(t, userAlice)
	px, base := startAdminProxy(t, dv, proxyOptions{})

	c := loginInbox(t, px.addr, userAlice)
	wantDecrypted, wantFailed := readCorpus(t, c)
	if wantDecrypted == 0 || wantFailed == 0 {
		t.Fatalf("corpus has %d decrypting and %d failing messages; want both",
			wantDecrypted, wantFailed)
	}
	checkMetrics(t, base, wantDecrypted)

	ctx := newBrowser(t, browserPath)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), adminToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS("body[data-loaded]")),
	); err != nil {
		t.Fatalf("log in to the dashboard: %v\n%s", err, readFile(px.logPath))
	}

	counters := []struct{ sel, want string }{
		{"#decrypted-total", strconv.Itoa(wantDecrypted)},
		{"#failed-total", strconv.Itoa(wantFailed)},
		{"#sessions-count", "1"},
		{"#sessions-table tbody tr .user", userAlice},
		{"#sessions-table tbody tr .mailbox", "INBOX"},
		{"#ready", "ready"},
	}
	for _, c := range counters {
		got, err := waitText(ctx, c.sel, c.want, 10*time.Second)
		if err != nil || got != c.want {
			t.Errorf("dashboard %s shows %q, want %q (%v)", c.sel, got, c.want, err)
		}
	}
	checkEventsShown(t, ctx)

	dir := t.TempDir()
	screenshot(t, ctx, dir, "dashboard.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844,
		chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, dir, "dashboard-phone.png")
}

// checkEventsShown: the recent events list names alice's messages.
func checkEventsShown(t *testing.T, ctx context.Context) {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('#events-table tbody tr[data-kind="decrypt"]').length`))
	if err != nil {
		t.Fatalf("recent events: %v", err)
	}
	user, err := chromedp.Run(ctx, chromedp.Text(
		chromedp.CSS(`#events-table tbody tr[data-kind="decrypt"] td:nth-child(3)`)))
	if err != nil || rows == 0 || user != userAlice {
		t.Errorf("recent events: %d decrypt rows, first user %q (%v)", rows, user, err)
	}
}

// checkMetrics scrapes /metrics as Prometheus would and checks the
// decrypted count.
func checkMetrics(t *testing.T, base string, wantDecrypted int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fams["smimeproxy_decrypt_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetValue() == "decrypted" && int(m.GetCounter().GetValue()) != wantDecrypted {
				t.Errorf("smimeproxy_decrypt_total{outcome=decrypted} = %v, want %d",
					m.GetCounter().GetValue(), wantDecrypted)
			}
		}
	}
	unauth, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	unauth.Body.Close()
	if unauth.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without token: %s", unauth.Status)
	}
}
