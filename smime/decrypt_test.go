package smime

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

const testContent = "Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
	"Hello Bob, the code is 42.\r\n"

func TestDecryptEntity(t *testing.T) {
	bob, bobOld := testKey(t, "bob"), testKey(t, "bob-old")
	keys := []Key{bob, bobOld}
	der := func(args []string, recips ...string) []byte {
		return opensslEncrypt(t, []byte(testContent), append(args, "-outform", "DER"), recips...)
	}
	b64 := func(b []byte) []byte {
		return []byte(wrap76(base64.StdEncoding.EncodeToString(b), "\r\n"))
	}
	tests := []struct {
		name      string
		body      []byte
		cte       string
		wantKey   string
		cipher    string
		recipient string
	}{
		{"aes-256-cbc base64", b64(der([]string{"-aes256"}, "bob")), "base64", "bob",
			"aes-256-cbc", RecipientIssuerSerial},
		{"aes-128-gcm authEnveloped binary", der([]string{"-aes-128-gcm"}, "bob"), "binary",
			"bob", "aes-128-gcm", RecipientIssuerSerial},
		{"aes-128-cbc 8bit", der([]string{"-aes128"}, "bob"), "8bit", "bob", "aes-128-cbc",
			RecipientIssuerSerial},
		{"3des 7bit base64 quirk", b64(der([]string{"-des3"}, "bob")), "7bit", "bob",
			"des-ede3-cbc", RecipientIssuerSerial},
		{"ski recipient", b64(der([]string{"-aes256", "-keyid"}, "bob")), "base64", "bob",
			"aes-256-cbc", RecipientSKI},
		{"second of two recipients", b64(der([]string{"-aes256"}, "carol", "bob")), "base64",
			"bob", "aes-256-cbc", RecipientIssuerSerial},
		{"older key", b64(der([]string{"-aes256"}, "bob-old")), "base64", "bob-old",
			"aes-256-cbc", RecipientIssuerSerial},
		{"ber stream", opensslEncrypt(t, []byte(testContent), []string{"-aes256", "-stream",
			"-indef", "-outform", "DER"}, "bob"), "binary", "bob", "aes-256-cbc",
			RecipientIssuerSerial},
		{"pem armour", opensslEncrypt(t, []byte(testContent), []string{"-aes256", "-outform",
			"PEM"}, "bob"), "", "bob", "aes-256-cbc", RecipientIssuerSerial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DecryptEntity(tt.body, tt.cte, keys, cms.DefaultLimits())
			if res.Outcome != OutcomeDecrypted {
				t.Fatalf("outcome %s, err %v", res.Outcome, res.Err)
			}
			if string(res.Inner) != testContent {
				t.Errorf("inner = %q", res.Inner)
			}
			if res.KeyID != tt.wantKey || res.Cipher != tt.cipher ||
				res.Recipient != tt.recipient {
				t.Errorf("key %q cipher %q recipient %q; want %q %q %q", res.KeyID, res.Cipher,
					res.Recipient, tt.wantKey, tt.cipher, tt.recipient)
			}
		})
	}
}

func TestDecryptEntitySMIMEOutput(t *testing.T) {
	// openssl's default S/MIME output: a MIME entity with base64 body.
	msg := opensslEncrypt(t, []byte(testContent), []string{"-aes256"}, "bob")
	res := decryptMessage(t, msg, []Key{testKey(t, "bob")})
	if res.Outcome != OutcomeDecrypted || string(res.Inner) != testContent {
		t.Fatalf("outcome %s (%v), inner %q", res.Outcome, res.Err, res.Inner)
	}
}

func TestDecryptEntityNormalizesLF(t *testing.T) {
	lf := strings.ReplaceAll(testContent, "\r\n", "\n")
	der := opensslEncrypt(t, []byte(lf), []string{"-aes256", "-binary", "-outform", "DER"}, "bob")
	res := DecryptEntity(der, "binary", []Key{testKey(t, "bob")}, cms.Limits{})
	if res.Outcome != OutcomeDecrypted || string(res.Inner) != testContent {
		t.Fatalf("outcome %s (%v), inner %q", res.Outcome, res.Err, res.Inner)
	}
}

func TestDecryptEntityFailures(t *testing.T) {
	keys := []Key{testKey(t, "bob"), testKey(t, "bob-old")}
	enc := func(args []string, recips ...string) []byte {
		return opensslEncrypt(t, []byte(testContent), append(args, "-outform", "DER"), recips...)
	}
	toCarol := base64.StdEncoding.EncodeToString(enc([]string{"-aes256"}, "carol"))
	corruptB64 := toCarol[:200] + "*!*" + toCarol[200:]
	tests := []struct {
		name string
		body []byte
		cte  string
		lim  cms.Limits
		want DecryptOutcome
	}{
		{"no matching key", []byte(toCarol), "base64", cms.Limits{}, OutcomeNoKey},
		{"corrupt base64", []byte(corruptB64), "base64", cms.Limits{}, OutcomeCorrupt},
		{"garbage DER", []byte{0x30, 0x03, 1, 2}, "binary", cms.Limits{}, OutcomeCorrupt},
		{"not CMS at all", []byte("hello world"), "7bit", cms.Limits{}, OutcomeCorrupt},
		{"empty", nil, "base64", cms.Limits{}, OutcomeCorrupt},
		{"unknown transfer encoding", enc([]string{"-aes256"}, "bob"), "x-uuencode",
			cms.Limits{}, OutcomeCorrupt},
		{"gcm tag broken", flipGCM(enc([]string{"-aes-256-gcm"}, "bob")), "binary",
			cms.Limits{}, OutcomeCouldNotDecrypt},
		{"cbc padding broken", breakCBCPadding(enc([]string{"-aes256"}, "bob")), "binary",
			cms.Limits{}, OutcomeCouldNotDecrypt},
		{"too large binary", enc([]string{"-aes256"}, "bob"), "binary",
			cms.Limits{MaxInputBytes: 100}, OutcomeTooLarge},
		{"too large base64", []byte(toCarol), "base64", cms.Limits{MaxInputBytes: 100},
			OutcomeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DecryptEntity(tt.body, tt.cte, keys, tt.lim)
			if res.Outcome != tt.want {
				t.Fatalf("outcome %s (%v), want %s", res.Outcome, res.Err, tt.want)
			}
			if res.Err == nil || res.Inner != nil {
				t.Errorf("err %v, inner %d bytes; want an error and no content", res.Err,
					len(res.Inner))
			}
			if st := res.Status().String(); strings.Contains(st, "padding") ||
				strings.Contains(st, "tag") {
				t.Errorf("status leaks the cause: %q", st)
			}
		})
	}
}

func TestDecryptEntityWrongKeySameCert(t *testing.T) {
	// Bob's certificate with Carol's private key: the recipient matches,
	// the RSA operation fails, and that is could-not-decrypt, not no-key.
	bob, carol := testKey(t, "bob"), testKey(t, "carol")
	mixed := Key{ID: "mixed", Certificate: bob.Certificate, Private: carol.Private}
	der := opensslEncrypt(t, []byte(testContent), []string{"-aes-128-gcm", "-outform", "DER"},
		"bob")
	res := DecryptEntity(der, "binary", []Key{mixed}, cms.Limits{})
	if res.Outcome != OutcomeCouldNotDecrypt || res.KeyID != "mixed" {
		t.Fatalf("outcome %s key %q (%v)", res.Outcome, res.KeyID, res.Err)
	}
}

func TestDecryptEntityUnsupportedCipher(t *testing.T) {
	keys := []Key{testKey(t, "bob")}
	for _, args := range [][]string{
		{"-camellia128"},
		{"-provider", "legacy", "-provider", "default", "-rc2-40"},
	} {
		der, err := tryOpensslEncrypt(t, []byte(testContent), append(args, "-outform", "DER"),
			"bob")
		if err != nil {
			t.Logf("openssl cannot make %v here: %v", args, err)
			continue
		}
		res := DecryptEntity(der, "binary", keys, cms.Limits{})
		switch res.Outcome {
		case OutcomeDecrypted:
			if string(res.Inner) != testContent {
				t.Errorf("%v: inner %q", args, res.Inner)
			}
		case OutcomeUnsupported:
			if res.Detail == "" || !errors.Is(res.Err, cms.ErrUnsupported) {
				t.Errorf("%v: detail %q err %v", args, res.Detail, res.Err)
			}
			st := res.Status()
			if d, _ := st.Get("detail"); d != res.Detail {
				t.Errorf("%v: status %q lacks detail", args, st)
			}
		default:
			t.Errorf("%v: outcome %s (%v), want decrypted or unsupported-algorithm", args,
				res.Outcome, res.Err)
		}
		t.Logf("%v: %s detail=%q", args, res.Outcome, res.Detail)
	}
}

func TestDecryptEntityIgnoresIncompleteKeys(t *testing.T) {
	bob := testKey(t, "bob")
	der := opensslEncrypt(t, []byte(testContent), []string{"-aes256", "-outform", "DER"}, "bob")
	keys := []Key{{ID: "nocert", Private: bob.Private},
		{ID: "nokey", Certificate: bob.Certificate}}
	if res := DecryptEntity(der, "binary", keys, cms.Limits{}); res.Outcome != OutcomeNoKey {
		t.Fatalf("outcome %s (%v), want no-key", res.Outcome, res.Err)
	}
}

func TestDecryptThunderbirdSample(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "testdata", "thunderbird")
	msg, err := os.ReadFile(filepath.Join(dir, "alice.env.eml"))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	p12, err := os.ReadFile(filepath.Join(dir, "Bob.p12"))
	if err != nil {
		t.Fatal(err)
	}
	priv, cert := decodeP12(t, p12, "nss")
	res := decryptMessage(t, msg, []Key{testKey(t, "carol"), {ID: "tb-bob", Certificate: cert,
		Private: priv}})
	if res.Outcome != OutcomeDecrypted || res.KeyID != "tb-bob" || res.Cipher != "aes-128-cbc" {
		t.Fatalf("outcome %s key %q cipher %q (%v)", res.Outcome, res.KeyID, res.Cipher, res.Err)
	}
	if !bytes.Contains(res.Inner, []byte("This is a test message from Alice to Bob.")) {
		t.Errorf("inner = %q", res.Inner)
	}
}

func TestDecryptPycaPEM(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "testdata", "pyca")
	body, err := os.ReadFile(filepath.Join(dir, "enveloped-aes-256-cbc.pem"))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "x509-custom-ca", "rsa_ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "x509-custom-ca", "rsa_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key := Key{ID: "pyca", Certificate: parseCertPEM(t, certPEM), Private: parseKeyPEM(t, keyPEM)}
	res := DecryptEntity(body, "", []Key{key}, cms.Limits{})
	if res.Outcome != OutcomeDecrypted || string(res.Inner) != "Hello world!\r\n" {
		t.Fatalf("outcome %s (%v), inner %q", res.Outcome, res.Err, res.Inner)
	}
}

// decodeP12 opens a PKCS#12 file with go-pkcs12.
// QUIRK(NSS): NSS writes PKCS#12 in BER, nested inside the MAC-protected
// OCTET STRING too, which go-pkcs12 (DER only) cannot read and which
// cannot be normalised without breaking the MAC. Such files are
// re-exported through openssl first.
func decodeP12(t *testing.T, p12 []byte, password string) (any, *x509.Certificate) {
	t.Helper()
	priv, cert, _, err := pkcs12.DecodeChain(p12, password)
	if err == nil {
		return priv, cert
	}
	t.Logf("go-pkcs12: %v; re-exporting with openssl", err)
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	pass := "pass:" + password
	export := exec.Command("openssl", "pkcs12", "-passin", pass, "-nodes")
	export.Stdin = bytes.NewReader(p12)
	pemData, err := export.Output()
	if err != nil {
		t.Fatalf("openssl pkcs12 export: %v", err)
	}
	reimport := exec.Command("openssl", "pkcs12", "-export", "-passout", pass)
	reimport.Stdin = bytes.NewReader(pemData)
	der, err := reimport.Output()
	if err != nil {
		t.Fatalf("openssl pkcs12 -export: %v", err)
	}
	priv, cert, _, err = pkcs12.DecodeChain(der, password)
	if err != nil {
		t.Fatal(err)
	}
	return priv, cert
}

// decryptMessage splits a whole message and decrypts its body.
func decryptMessage(t *testing.T, msg []byte, keys []Key) DecryptResult {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if k := ClassifyContentType(m.Header.Get("Content-Type")); k != KindEnveloped {
		t.Fatalf("message classified %v", k)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return DecryptEntity(body, m.Header.Get("Content-Transfer-Encoding"), keys, cms.Limits{})
}

// flipGCM changes the last ciphertext byte of a DER AuthEnvelopedData
// whose MAC follows the ciphertext: the tag check must fail.
func flipGCM(der []byte) []byte {
	out := bytes.Clone(der)
	// The mac OCTET STRING (16 bytes + 2 header) is last; flip just before.
	out[len(out)-19] ^= 0x01
	return out
}

// breakCBCPadding changes the second-to-last ciphertext block of a DER
// EnvelopedData (encrypted content is the last element) so that the last
// plaintext byte becomes 0x20: never a valid PKCS#7 pad length.
func breakCBCPadding(der []byte) []byte {
	out := bytes.Clone(der)
	pad := byte(16 - len(testContent)%16)
	out[len(out)-17] ^= pad ^ 0x20
	return out
}
