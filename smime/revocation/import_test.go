package revocation

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/trust"
)

const testdata = "../../../shared/testdata"

func trustStore(t *testing.T, roots, inters []*x509.Certificate) *trust.Store {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, certs []*x509.Certificate) []string {
		if len(certs) == 0 {
			return nil
		}
		var data []byte
		for _, c := range certs {
			data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
				Bytes: c.Raw})...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{path}
	}
	s, err := trust.Load(write("roots.pem", roots), write("inters.pem", inters))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestImportWithoutNetwork: CRLs imported by hand answer while the CRL
// server is unreachable, also for a Service started before the import (a
// running serve) and for certificates that name no CRL at all.
func TestImportWithoutNetwork(t *testing.T) {
	p := newPKI(t)
	interCRL := p.makeCRL(t, p.inter, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0),
		p.bad.cert)
	rootCRL := p.makeCRL(t, p.root, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	p.srv.Close()
	dir := t.TempDir()
	clk := &clock{t: testNow}
	running := newService(t, Options{CacheDir: dir}, clk)
	ctx := context.Background()
	if r := running.Check(ctx, p.chain(p.good)); r.Status != Unknown {
		t.Fatalf("before import: %+v", r)
	}

	store := trustStore(t, []*x509.Certificate{p.root.cert}, []*x509.Certificate{p.inter.cert})
	cli := newService(t, Options{CacheDir: dir}, clk)
	pemCRL := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: interCRL})
	for _, data := range [][]byte{pemCRL, rootCRL} {
		if _, err := cli.Import(data, store); err != nil {
			t.Fatal(err)
		}
	}
	infos := cli.CRLs()
	if len(infos) != 2 || infos[0].Source != "imported" || infos[1].Entries != 0 &&
		infos[0].Entries != 0 {
		t.Fatalf("%+v", infos)
	}

	bare := p.makeCert(t, "bare", false, p.inter, "")
	for _, s := range []*Service{cli, running} {
		if r := s.Check(ctx, p.chain(p.good)); r.Status != Good {
			t.Errorf("good: %+v", r)
		}
		if r := s.Check(ctx, p.chain(p.bad)); r.Status != Revoked {
			t.Errorf("bad: %+v", r)
		}
		if r := s.Check(ctx, p.chain(bare)); r.Status != Good {
			t.Errorf("no distribution point: %+v", r)
		}
	}
}

func TestImportRejects(t *testing.T) {
	p := newPKI(t)
	other := p.makeCert(t, "Other Root", true, nil, "")
	fake := p.makeCert(t, "Test Issuing CA", true, nil, "")
	store := trustStore(t, []*x509.Certificate{p.root.cert}, []*x509.Certificate{p.inter.cert})
	clk := &clock{t: testNow}
	s := newService(t, Options{CacheDir: t.TempDir()}, clk)
	hour := time.Hour
	tests := []struct {
		name string
		crl  []byte
		want error
	}{
		{"untrusted issuer", p.makeCRL(t, other, testNow, testNow.Add(hour)), ErrNoIssuer},
		{"forged", p.makeCRL(t, fake, testNow, testNow.Add(hour)), ErrBadCRL},
		{"expired", p.makeCRL(t, p.inter, testNow.Add(-2*hour), testNow.Add(-hour)), ErrStale},
		{"garbage", []byte("not a CRL"), ErrBadCRL},
	}
	for _, tt := range tests {
		if _, err := s.Import(tt.crl, store); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}

	newer := p.makeCRL(t, p.inter, testNow, testNow.Add(hour))
	older := p.makeCRL(t, p.inter, testNow.Add(-hour), testNow.Add(hour))
	if _, err := s.Import(newer, store); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(older, store); !errors.Is(err, ErrOlder) {
		t.Errorf("older: %v", err)
	}
	memOnly := newService(t, Options{}, clk)
	if _, err := memOnly.Import(newer, store); !errors.Is(err, ErrNoCache) {
		t.Errorf("no cache dir: %v", err)
	}
}

// TestImportIntermediateMustChain: an intermediate that does not chain to a
// root of the store cannot vouch for a CRL.
func TestImportIntermediateMustChain(t *testing.T) {
	p := newPKI(t)
	other := p.makeCert(t, "Other Root", true, nil, "")
	store := trustStore(t, []*x509.Certificate{other.cert}, []*x509.Certificate{p.inter.cert})
	s := newService(t, Options{CacheDir: t.TempDir()}, &clock{t: testNow})
	crl := p.makeCRL(t, p.inter, testNow, testNow.Add(time.Hour))
	if _, err := s.Import(crl, store); !errors.Is(err, ErrNoIssuer) {
		t.Fatal(err)
	}
}

// TestRFC4134CRLs: the RFC 4134 CRLs (CarlRSACRLForAll revokes AliceRSA, BobRSA
// and DianeRSA) are version 1 CRLs signed with md5WithRSA, or DSA-SHA1 for
// the DSS ones. crypto/x509 parses only version 2 CRLs and verifies neither
// algorithm; we refuse them with a reason rather than accept a forgeable
// signature.
func TestRFC4134CRLs(t *testing.T) {
	dir := filepath.Join(testdata, "rfc4134")
	carl, err := trust.ReadFile(filepath.Join(dir, "CarlRSASelf.cer"))
	if err != nil {
		t.Fatal(err)
	}
	store := trustStore(t, carl, nil)
	s := newService(t, Options{CacheDir: t.TempDir()}, &clock{t: testNow})
	for _, name := range []string{"CarlRSACRLForAll.crl", "CarlRSACRLEmpty.crl",
		"CarlDSSCRLForAll.crl"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Import(data, store)
		if !errors.Is(err, ErrBadCRL) || !strings.Contains(err.Error(), "version") {
			t.Fatalf("%s: err = %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if len(s.CRLs()) != 0 {
		t.Error("a refused CRL was kept")
	}
}

// TestMD5CRLRefused: a v2 CRL signed with MD5 by a trusted CA is refused.
func TestMD5CRLRefused(t *testing.T) {
	p := newPKI(t)
	list, err := x509.ParseRevocationList(p.makeCRL(t, p.inter, testNow,
		testNow.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	list.SignatureAlgorithm = x509.MD5WithRSA // as if it were signed so
	err = verifyCRL(list, p.inter.cert)
	if !errors.Is(err, ErrBadCRL) || !strings.Contains(err.Error(), "MD5-RSA") {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}
