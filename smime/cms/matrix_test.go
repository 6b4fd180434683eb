package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the cms-matrix table in the README")

// readmePath is the repository README, whose "Supported S/MIME
// algorithms" section holds the table TestInteropMatrix writes.
const readmePath = "../../README.md"

const (
	matrixBegin = "<!-- BEGIN cms-matrix -->"
	matrixEnd   = "<!-- END cms-matrix -->"
)

// matrixCell is one message kind: how it is produced and how we open it.
type matrixCell struct {
	family string // table row group
	option string // how it was produced
	legacy bool   // needs the OpenSSL legacy provider
	// exactly one of these produces the message
	openssl []string // `openssl cms -encrypt` arguments
	own     func(t *testing.T, content []byte) []byte
	// open decrypts with our code; nil means with the matrix identity
	// named by who.
	open func(env *Envelope) ([]byte, error)
	who  string
	// ref decrypts with openssl (for own-encoder cells that openssl can
	// open); nil for openssl cells uses the default reference.
	opensslOpens bool
	// name reports what our parser calls the algorithm under test.
	name func(env *Envelope) string
}

// matrixIDs are the identities of the matrix, made once per run.
type matrixIDs struct {
	dir string
	ids map[string]*testIdentity
}

func newMatrixIDs(t *testing.T) *matrixIDs {
	dir := t.TempDir()
	m := &matrixIDs{dir: dir, ids: map[string]*testIdentity{}}
	m.ids["rsa"] = newRSAIdentity(t, dir, "rsa", 2048)
	for name, c := range map[string]elliptic.Curve{"p256": elliptic.P256(),
		"p384": elliptic.P384(), "p521": elliptic.P521()} {
		key, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m.ids[name] = newIdentity(t, dir, name, key)
	}
	return m
}

const (
	matrixKEK    = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	matrixKEKID  = "c0ffee01"
	matrixPasswd = "correct horse battery staple"
)

func cipherName(env *Envelope) string { return env.ContentCipher }

func firstKeyAlg(env *Envelope) string {
	if len(env.Recipients) == 0 {
		return "(none)"
	}
	return env.Recipients[0].KeyAlgorithm
}

func firstForm(env *Envelope) string {
	if len(env.Recipients) == 0 {
		return "(none)"
	}
	r := env.Recipients[0]
	return r.Type.String() + " by " + r.ID.Form()
}

func encodingName(env *Envelope) string {
	return env.Kind.String() + ", " + env.ContentCipher + ", BER"
}

// opensslCells lists every cell OpenSSL 3 can produce (issue 3).
func opensslCells(m *matrixIDs) []matrixCell {
	rsa := m.ids["rsa"].certPath
	var cells []matrixCell
	add := func(c matrixCell) { cells = append(cells, c) }
	for _, c := range []struct {
		opt    string
		legacy bool
	}{{"-aes128", false}, {"-aes192", false}, {"-aes256", false}, {"-aes-128-gcm", false},
		{"-aes-192-gcm", false}, {"-aes-256-gcm", false}, {"-des3", false},
		{"-rc2-40", true}, {"-rc2-64", true}, {"-rc2-128", true}, {"-des", true}} {
		add(matrixCell{family: "content cipher", option: c.opt, legacy: c.legacy,
			openssl: []string{c.opt, "-recip", rsa}, who: "rsa", name: cipherName})
	}
	add(matrixCell{family: "key transport", option: "RSA (default)",
		openssl: []string{"-aes256", "-recip", rsa}, who: "rsa", name: firstKeyAlg})
	for _, h := range []string{"sha1", "sha224", "sha256", "sha384", "sha512"} {
		add(matrixCell{family: "key transport", option: "-keyopt rsa_oaep_md:" + h,
			openssl: []string{"-aes256", "-recip", rsa, "-keyopt", "rsa_padding_mode:oaep",
				"-keyopt", "rsa_oaep_md:" + h}, who: "rsa", name: firstKeyAlg})
	}
	add(matrixCell{family: "key transport", option: "oaep sha256, mgf1 sha1, label",
		openssl: []string{"-aes256", "-recip", rsa, "-keyopt", "rsa_padding_mode:oaep",
			"-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha1",
			"-keyopt", "rsa_oaep_label:0123456789abcdef"}, who: "rsa", name: firstKeyAlg})
	for _, curve := range []string{"p256", "p384", "p521"} {
		for _, h := range []string{"sha1", "sha224", "sha256", "sha384", "sha512"} {
			for _, cof := range []string{"0", "1"} {
				opt := fmt.Sprintf("%s -keyopt ecdh_kdf_md:%s", curve, h)
				if cof == "1" {
					opt += " -keyopt ecdh_cofactor_mode:1"
				}
				add(matrixCell{family: "key agreement", option: opt,
					openssl: []string{"-aes128", "-recip", m.ids[curve].certPath,
						"-keyopt", "ecdh_kdf_md:" + h, "-keyopt", "ecdh_cofactor_mode:" + cof},
					who: curve, name: func(env *Envelope) string {
						label := strings.ToUpper(curve[:1]) + "-" + curve[1:]
						return label + " " + firstKeyAlg(env)
					}})
			}
		}
	}
	for _, c := range []struct{ cipher, who string }{
		{"-aes256", "rsa"}, {"-aes-256-gcm", "p384"},
	} {
		add(matrixCell{family: "recipient identifier", option: "-keyid " + c.who,
			openssl: []string{c.cipher, "-keyid", "-recip", m.ids[c.who].certPath},
			who:     c.who, name: firstForm})
		add(matrixCell{family: "encoding", option: "-stream " + c.cipher + " " + c.who,
			openssl: []string{c.cipher, "-stream", "-recip", m.ids[c.who].certPath},
			who:     c.who, name: encodingName})
	}
	add(matrixCell{family: "recipient identifier", option: "-recip (issuer and serial)",
		openssl: []string{"-aes256", "-recip", m.ids["p256"].certPath},
		who:     "p256", name: firstForm})
	for _, n := range []int{16, 24, 32} {
		key := matrixKEK[:2*n]
		add(matrixCell{family: "symmetric recipient",
			option:  fmt.Sprintf("-secretkey (%d bytes)", n),
			openssl: []string{"-aes256", "-secretkey", key, "-secretkeyid", matrixKEKID},
			open: func(env *Envelope) ([]byte, error) {
				return env.DecryptWithSecret(unhexString(matrixKEKID), unhexString(key))
			}, name: firstKeyAlg})
	}
	add(matrixCell{family: "symmetric recipient", option: "-pwri_password",
		openssl: []string{"-aes256", "-pwri_password", matrixPasswd},
		open: func(env *Envelope) ([]byte, error) {
			return env.DecryptWithPassword([]byte(matrixPasswd))
		}, name: func(env *Envelope) string { return "password " + firstKeyAlg(env) }})
	return cells
}

func unhexString(s string) []byte {
	var out []byte
	fmt.Sscanf(s, "%x", &out)
	return out
}

// ownCells are the kinds OpenSSL 3.0 cannot write: made by Encrypt.
func ownCells(m *matrixIDs) []matrixCell {
	var cells []matrixCell
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	xcert := m.ids["p256"].cert // names the recipient; the key is given apart
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		cells = append(cells, matrixCell{family: "key agreement",
			option: "X25519 " + h.String(),
			own: ownEncrypt(EncryptRecipient{Certificate: xcert, PublicKey: x25519.PublicKey()},
				EncryptOptions{Cipher: "aes-256-gcm", KDFHash: h}),
			open: func(env *Envelope) ([]byte, error) { return env.Decrypt(xcert, x25519) },
			name: func(env *Envelope) string { return "X25519 " + firstKeyAlg(env) }})
	}
	k768, _ := mlkem.GenerateKey768()
	k1024, _ := mlkem.GenerateKey1024()
	for _, kc := range []struct {
		name string
		key  crypto.Decapsulator
	}{{"ML-KEM-768", k768}, {"ML-KEM-1024", k1024}} {
		k := kc.key
		cells = append(cells, matrixCell{family: "KEM (RFC 9629)",
			option: kc.name,
			own: ownEncrypt(EncryptRecipient{Certificate: xcert, PublicKey: k.Encapsulator()},
				EncryptOptions{Cipher: "aes-256-cbc"}),
			open: func(env *Envelope) ([]byte, error) { return env.Decrypt(xcert, k) },
			name: firstKeyAlg})
	}
	rsaID := m.ids["rsa"]
	cells = append(cells, matrixCell{family: "content cipher", option: "chacha20-poly1305",
		own: ownEncrypt(EncryptRecipient{Certificate: rsaID.cert},
			EncryptOptions{Cipher: "chacha20-poly1305"}),
		who:  "rsa",
		name: cipherName})
	cells = append(cells, matrixCell{family: "content", option: "compressed-data in envelope",
		own: ownEncrypt(EncryptRecipient{Certificate: rsaID.cert},
			EncryptOptions{Compress: true}),
		who:  "rsa",
		name: func(env *Envelope) string { return env.ContentType + " (zlib)" }})
	for _, curve := range []string{"p256", "p384", "p521"} {
		id := m.ids[curve]
		cells = append(cells, matrixCell{family: "key agreement",
			option: curve + " by SKI, X9.63 SHA-384; OpenSSL decrypts it", opensslOpens: true,
			own: ownEncrypt(EncryptRecipient{Certificate: id.cert},
				EncryptOptions{Cipher: "aes-192-cbc", KDFHash: crypto.SHA384, UseSKI: true}),
			who:  curve,
			name: func(env *Envelope) string { return curve + " " + firstKeyAlg(env) }})
	}
	return cells
}

func ownEncrypt(r EncryptRecipient, opts EncryptOptions) func(*testing.T, []byte) []byte {
	return func(t *testing.T, content []byte) []byte {
		der, err := EncryptFor(content, []EncryptRecipient{r}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
}

// TestInteropMatrix makes one message per cell, decrypts it, compares the
// result with the content and (where it can) with OpenSSL's decryption,
// and checks the README table against the cells.
func TestInteropMatrix(t *testing.T) {
	requireOpenSSL(t)
	m := newMatrixIDs(t)
	legacy := opensslHasLegacy()
	content := sampleContent(4000)
	var rows []string
	skipped := 0
	cells := append(opensslCells(m), ownCells(m)...)
	for _, c := range cells {
		source := "own encoder"
		if c.openssl != nil {
			source = "openssl"
		}
		t.Run(c.family+"/"+c.option, func(t *testing.T) {
			if c.legacy && !legacy {
				skipped++
				t.Skip("openssl legacy provider not available")
			}
			name, how := runCell(t, m, c, content)
			rows = append(rows, fmt.Sprintf("| %s | %s | `%s` | %s |",
				c.family, c.option+" ("+source+")", name, how))
		})
	}
	if skipped > 0 {
		// A partial table says nothing about the README's.
		t.Logf("%d cells skipped; README table not checked", skipped)
		return
	}
	checkReadme(t, matrixTable(rows))
}

// runCell produces, parses and opens one cell and returns the name our
// parser gives it and how it was checked.
func runCell(t *testing.T, m *matrixIDs, c matrixCell, content []byte) (string, string) {
	var der []byte
	var extra []string
	if c.legacy {
		extra = []string{"-provider", "legacy", "-provider", "default"}
	}
	if c.openssl != nil {
		der = opensslEncrypt(t, m.dir, content, append(extra, c.openssl...)...)
	} else {
		der = c.own(t, content)
	}
	env, err := ParseEnvelope(der, Limits{})
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	var got []byte
	if c.open != nil {
		got, err = c.open(env)
	} else {
		id := m.ids[c.who]
		got, err = env.Decrypt(id.cert, id.key)
	}
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("decrypted %d bytes, want the %d of the content", len(got), len(content))
	}
	if c.openssl == nil && !c.opensslOpens {
		return c.name(env), "round trip"
	}
	ref := opensslRef(t, m, c, der, extra)
	if !bytes.Equal(got, ref) {
		t.Fatalf("openssl decrypted %d bytes, we %d", len(ref), len(got))
	}
	return c.name(env), "same bytes as OpenSSL"
}

func opensslRef(t *testing.T, m *matrixIDs, c matrixCell, der []byte, extra []string) []byte {
	for i, a := range c.openssl {
		switch a {
		case "-secretkey", "-secretkeyid", "-pwri_password":
			extra = append(extra, a, c.openssl[i+1])
		}
	}
	in := filepath.Join(m.dir, "msg.der")
	if err := os.WriteFile(in, der, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"cms", "-decrypt", "-binary", "-inform", "DER", "-in", in}
	if c.who != "" {
		args = append(args, "-recip", m.ids[c.who].certPath, "-inkey", m.ids[c.who].keyPath)
	}
	return runOpenSSL(t, nil, append(args, extra...)...)
}

func matrixTable(rows []string) string {
	var b strings.Builder
	b.WriteString("Generated by `go test ./smime/cms -run TestInteropMatrix -update`; " +
		"the test fails when this table differs from what it finds.\n\n")
	b.WriteString("| family | message (made by) | our name for it | checked |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	return b.String()
}

// checkReadme compares the table with the README's, or writes it there
// with -update.
func checkReadme(t *testing.T, table string) {
	t.Helper()
	if t.Failed() {
		return // a failed cell makes a table not worth comparing
	}
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i, j := strings.Index(text, matrixBegin), strings.Index(text, matrixEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s ... %s markers", readmePath, matrixBegin, matrixEnd)
	}
	current := text[i+len(matrixBegin)+1 : j]
	if current == table {
		return
	}
	if !*update {
		t.Fatalf("README cms-matrix table is out of date; regenerate it with\n" +
			"  go test ./smime/cms -run TestInteropMatrix -update")
	}
	text = text[:i+len(matrixBegin)+1] + table + text[j:]
	if err := os.WriteFile(readmePath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
