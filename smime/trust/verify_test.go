package trust

import (
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storeOf makes a store from certificates directly.
func storeOf(roots, inters []*x509.Certificate) *Store {
	var entries []Entry
	for _, c := range roots {
		entries = append(entries, Entry{Cert: c, Kind: KindRoot})
	}
	for _, c := range inters {
		entries = append(entries, Entry{Cert: c, Kind: KindIntermediate})
	}
	return newStore(entries)
}

func TestVerify(t *testing.T) {
	p := newPKI(t)
	other := makeCert(t, certSpec{cn: "Other Root", ca: true}, nil)
	expiredLeaf := makeCert(t, certSpec{cn: "old", eku: emailEKU,
		notAfter: testNow.AddDate(0, -1, 0)}, p.inter)
	futureLeaf := makeCert(t, certSpec{cn: "new", eku: emailEKU,
		notBefore: testNow.AddDate(0, 1, 0)}, p.inter)
	tlsLeaf := makeCert(t, certSpec{cn: "web",
		eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, p.inter)
	anyLeaf := makeCert(t, certSpec{cn: "any",
		eku: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}, p.inter)
	noEKULeaf := makeCert(t, certSpec{cn: "plain"}, p.inter)
	expiredInter := makeCert(t, certSpec{cn: "Old CA", ca: true,
		notAfter: testNow.AddDate(0, -2, 0)}, p.root)
	underExpired := makeCert(t, certSpec{cn: "bob", eku: emailEKU}, expiredInter)
	// A sender's own "root": self-signed, with the same name as our root.
	fakeRoot := makeCert(t, certSpec{cn: "Test Root", ca: true}, nil)
	fakeLeaf := makeCert(t, certSpec{cn: "mallory", eku: emailEKU}, fakeRoot)

	onlyRoot := storeOf([]*x509.Certificate{p.root.cert}, nil)
	full := storeOf([]*x509.Certificate{p.root.cert}, []*x509.Certificate{p.inter.cert})
	tests := []struct {
		name  string
		store *Store
		leaf  *testCert
		extra []*x509.Certificate
		want  error // nil: a chain of chainLen
	}{
		{"store intermediate", full, p.leaf, nil, nil},
		{"message intermediate", onlyRoot, p.leaf, []*x509.Certificate{p.inter.cert}, nil},
		{"missing intermediate", onlyRoot, p.leaf, nil, ErrUntrusted},
		{"other root", storeOf([]*x509.Certificate{other.cert}, nil), p.leaf,
			[]*x509.Certificate{p.inter.cert}, ErrUntrusted},
		{"message root rejected", onlyRoot, fakeLeaf,
			[]*x509.Certificate{fakeRoot.cert}, ErrUntrusted},
		{"expired", full, expiredLeaf, nil, ErrExpired},
		{"not yet valid", full, futureLeaf, nil, ErrNotYetValid},
		{"wrong eku", full, tlsLeaf, nil, ErrBadUsage},
		{"any eku", full, anyLeaf, nil, nil},
		{"no eku", full, noEKULeaf, nil, nil},
		{"expired intermediate", onlyRoot, underExpired,
			[]*x509.Certificate{expiredInter.cert}, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chains, err := tt.store.Verify(tt.leaf.cert, tt.extra, testNow)
			if tt.want == nil {
				if err != nil || len(chains) == 0 || len(chains[0]) != 3 {
					t.Fatalf("chains %v, err %v", chains, err)
				}
				if !chains[0][2].Equal(p.root.cert) {
					t.Error("chain does not end at the root")
				}
				return
			}
			if !errors.Is(err, tt.want) || chains != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			t.Log(err)
		})
	}
}

func TestVerifyExpiredNamesCertificate(t *testing.T) {
	p := newPKI(t)
	full := storeOf([]*x509.Certificate{p.root.cert}, []*x509.Certificate{p.inter.cert})
	_, err := full.Verify(p.leaf.cert, nil, testNow.AddDate(2, 0, 0))
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), `"CN=alice"`) {
		t.Fatal(err)
	}
}

// TestVerifyLeafIsRoot: an operator may trust one person's self-signed
// certificate by listing it as a root.
func TestVerifyLeafIsRoot(t *testing.T) {
	self := makeCert(t, certSpec{cn: "self", ca: true, eku: emailEKU}, nil)
	s := storeOf([]*x509.Certificate{self.cert}, nil)
	chains, err := s.Verify(self.cert, nil, testNow)
	if err != nil || len(chains[0]) != 1 {
		t.Fatal(chains, err)
	}
}

// TestVerifySHA1RFC4134: the RFC 4134 sample PKI is signed with SHA-1;
// crypto/x509 refuses it and we say why.
func TestVerifySHA1RFC4134(t *testing.T) {
	dir := filepath.Join(testdata, "rfc4134")
	s, err := Load([]string{filepath.Join(dir, "CarlRSASelf.cer")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := ReadFile(filepath.Join(dir, "AliceRSASignByCarl.cer"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = s.Verify(alice[0], nil, at)
	if !errors.Is(err, ErrUntrusted) || !errors.Is(err, ErrWeakAlgorithm) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "SHA1-RSA") || !strings.Contains(err.Error(), "AliceRSA") {
		t.Errorf("reason unclear: %v", err)
	}
}

func TestVerifyThunderbird(t *testing.T) {
	s, err := Load([]string{filepath.Join(testdata, "thunderbird", "TestCA.pem")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Roots()) != 1 {
		t.Fatalf("roots: %d", len(s.Roots()))
	}
}

func BenchmarkVerify(b *testing.B) {
	p := newPKI(b)
	s := storeOf([]*x509.Certificate{p.root.cert}, nil)
	extra := []*x509.Certificate{p.inter.cert}
	for b.Loop() {
		if _, err := s.Verify(p.leaf.cert, extra, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
