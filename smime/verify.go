package smime

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// SigResult is the result of checking one signature, with the names of
// the "smime" method of RFC 7281 section 3 in Authentication-Results
// (RFC 8601 section 2.7). The README explains which finding gives which.
type SigResult string

// The results, in the registry's spelling.
const (
	SigPass      SigResult = "pass"
	SigFail      SigResult = "fail"
	SigNeutral   SigResult = "neutral"
	SigNone      SigResult = "none"
	SigPolicy    SigResult = "policy"
	SigTempError SigResult = "temperror"
	SigPermError SigResult = "permerror"
)

// Reason codes: a fixed set of tokens that say why a signature did not
// pass, used in X-SMIME-Status (reason=...) and as metric labels.
const (
	ReasonContentAltered  = "content-altered"
	ReasonBadSignature    = "bad-signature"
	ReasonCorrupt         = "corrupt"
	ReasonUnsupported     = "unsupported-algorithm"
	ReasonNoCertificate   = "no-certificate"
	ReasonUntrusted       = "issuer-not-trusted"
	ReasonExpired         = "certificate-expired"
	ReasonNotYetValid     = "certificate-not-yet-valid"
	ReasonRevoked         = "certificate-revoked"
	ReasonRevocationCheck = "revocation-unknown"
	ReasonWeakAlgorithm   = "weak-algorithm"
	ReasonNotForSigning   = "certificate-not-for-signing"
	ReasonSenderMismatch  = "sender-mismatch"
	ReasonTooLarge        = "too-large"
)

// ErrNoSignature reports a signed entity that holds no signer at all.
var ErrNoSignature = errors.New("smime: no signer in the signed data")

// TrustStore builds a certificate chain from a signer's certificate to a
// configured root; smime/trust.Store implements it. extra are the other
// certificates of the message, usable as intermediates only. An error
// means no trusted chain at time at.
type TrustStore interface {
	Verify(leaf *x509.Certificate, extra []*x509.Certificate, at time.Time) (
		[][]*x509.Certificate, error)
}

// RevocationStatus is what a revocation check found.
type RevocationStatus int

// Revocation statuses.
const (
	RevocationGood RevocationStatus = iota
	RevocationRevoked
	RevocationUnknown
)

// Revocation is the outcome of a revocation check of a chain's leaf.
type Revocation struct {
	Status    RevocationStatus
	RevokedAt time.Time
	Reason    string // CRL reason code name, if revoked
	Source    string // "crl", "ocsp", "off"
	Err       error  // why the status is unknown
}

// RevocationChecker checks whether a chain's leaf is revoked. The
// smime/revocation package's Checker is adapted to it by the caller
// (a RevocationFunc), so that this package does not depend on it.
type RevocationChecker interface {
	CheckRevocation(ctx context.Context, chain []*x509.Certificate) Revocation
}

// RevocationFunc adapts a function to RevocationChecker.
type RevocationFunc func(ctx context.Context, chain []*x509.Certificate) Revocation

// CheckRevocation calls f.
func (f RevocationFunc) CheckRevocation(ctx context.Context,
	chain []*x509.Certificate) Revocation {
	return f(ctx, chain)
}

// VerifyPolicy holds the local choices that turn a good signature into
// "policy" or keep it a "pass".
type VerifyPolicy struct {
	// AllowSHA1 accepts SHA-1 digests (config smime.allow_sha1); default
	// false: SHA-1 collisions are practical (SHAttered, 2017).
	AllowSHA1 bool
	// AllowMD5 accepts MD5 digests; default false.
	AllowMD5 bool
	// RevocationFailOpen passes a signature whose revocation status could
	// not be learnt (config revocation.fail_open); default false, which
	// gives temperror.
	RevocationFailOpen bool
}

// Verifier checks S/MIME signatures. The zero value works: nothing is
// trusted (every good signature is "neutral"), revocation is not checked.
// A Verifier is safe for concurrent use and must not be copied after
// first use (it caches trusted chains for a few minutes).
type Verifier struct {
	Trust      TrustStore        // nil: no root is trusted
	Revocation RevocationChecker // nil: revocation is not checked
	Policy     VerifyPolicy
	Limits     cms.Limits
	Now        func() time.Time // nil: time.Now

	chains chainCache
	certs  certCache
}

// SignerResult is the finding for one signer of one signed entity.
type SignerResult struct {
	Result SigResult
	// Reason is one of the Reason constants; "" for pass.
	Reason string
	// Comment is a short text for people, e.g. "certificate revoked
	// 2026-03-01", shown as the Authentication-Results comment.
	Comment string
	// Err is the detailed cause, for the log only.
	Err error

	// Identifier is the signer's mail address from the certificate (the
	// one that matched From, else the first); "" when unknown.
	Identifier string
	// Name is the certificate subject's common name.
	Name string
	// Serial is the certificate serial number in hex, Issuer its issuer
	// distinguished name (RFC 4514); both "" when the certificate is
	// unknown.
	Serial, Issuer string
	// DigestAlgorithm and SignatureAlgorithm as cms names them.
	DigestAlgorithm, SignatureAlgorithm string
	// SigningTime is the signer's claimed signing time, zero if absent.
	SigningTime time.Time
	// RevocationSource says how revocation was checked: "crl", "ocsp",
	// "off", or "" when it was not reached.
	RevocationSource string
}

// String summarises the result for logs.
func (r SignerResult) String() string {
	return fmt.Sprintf("%s (%s) signer=%s serial=%s", r.Result, r.Reason, r.Identifier,
		r.Serial)
}

// SignedEntity is the finding for one signed layer of a message.
type SignedEntity struct {
	// Kind is KindSigned (multipart/signed) or KindSignedOpaque.
	Kind Kind
	// Part is the IMAP part specifier of the signed content in the
	// message the client sees: "1" for multipart/signed, "TEXT" for an
	// opaque signature, whose content becomes the message.
	Part    string
	Signers []SignerResult
	// Inner is the encapsulated entity of an opaque signature (CRLF line
	// endings), nil otherwise or when it could not be read.
	Inner []byte
}

// Best returns the most favourable signer result. RFC 5652 section 5.1
// lets a message carry several signers (other algorithms, other people)
// and leaves the verdict to the receiver; one that passes is enough here.
func (e SignedEntity) Best() SignerResult {
	best := SignerResult{Result: SigPermError, Reason: ReasonCorrupt}
	for i, s := range e.Signers {
		if i == 0 || resultRank(s.Result) < resultRank(best.Result) {
			best = s
		}
	}
	return best
}

// Valid reports whether some signer passed.
func (e SignedEntity) Valid() bool { return e.Best().Result == SigPass }

func resultRank(r SigResult) int {
	for i, x := range []SigResult{SigPass, SigPolicy, SigNeutral, SigTempError, SigPermError,
		SigFail} {
		if r == x {
			return i
		}
	}
	return 99
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// checkSigned verifies every signer of sd over content (nil: eContent).
// senders are the From and Sender addresses of the message.
func (v *Verifier) checkSigned(ctx context.Context, sd *cms.SignedData, content []byte,
	senders []string) []SignerResult {
	if len(sd.Signers) == 0 {
		return []SignerResult{permError(ErrNoSignature)}
	}
	out := make([]SignerResult, 0, len(sd.Signers))
	for _, si := range sd.Signers {
		out = append(out, v.checkSigner(ctx, sd, si, content, senders))
	}
	return out
}

func permError(err error) SignerResult {
	return SignerResult{Result: SigPermError, Reason: ReasonCorrupt,
		Comment: "signature is corrupt", Err: err}
}

// checkSigner runs the checks in order; the first that fails decides.
func (v *Verifier) checkSigner(ctx context.Context, sd *cms.SignedData, si *cms.Signer,
	content []byte, senders []string) SignerResult {
	r := SignerResult{DigestAlgorithm: si.DigestAlgorithm,
		SignatureAlgorithm: si.SignatureAlgorithm, SigningTime: si.SigningTime}
	cert := si.FindCertificate(sd.Certificates)
	if cert == nil {
		return r.with(SigNeutral, ReasonNoCertificate, "signer certificate not in the message",
			fmt.Errorf("signer %s not among %d certificates", si.ID.Form(),
				len(sd.Certificates)))
	}
	r.Serial, r.Issuer = v.certs.describe(cert)
	describeCert(&r, cert, senders)
	if err := v.verifyContent(sd, si, cert, content); err != nil {
		return r.withVerifyError(err)
	}
	if v.checkDates(&r, cert) || v.checkDigest(&r) || checkUsage(&r, cert) {
		return r
	}
	chain, done := v.checkChain(&r, cert, sd.Certificates)
	if done {
		return r
	}
	if v.checkRevocation(ctx, &r, chain) {
		return r
	}
	return v.checkPolicy(r, cert, senders)
}

// verifyContent checks the signature over content as received and, if
// the digest differs and the content has bare LF line endings (a message
// stored on a Unix system), over its canonical CRLF form (RFC 8551 section
// 3.1.1). Trying the received bytes first spares a scan of every message.
func (v *Verifier) verifyContent(sd *cms.SignedData, si *cms.Signer, cert *x509.Certificate,
	content []byte) error {
	err := sd.Verify(si, cert, content)
	if content == nil || !errors.Is(err, cms.ErrDigestMismatch) {
		return err
	}
	if canon := NormalizeCRLF(content); len(canon) != len(content) {
		return sd.Verify(si, cert, canon)
	}
	return err
}

func (r SignerResult) with(res SigResult, reason, comment string, err error) SignerResult {
	r.Result, r.Reason, r.Comment, r.Err = res, reason, comment, err
	return r
}

// withVerifyError classifies an error of cms.Verify.
func (r SignerResult) withVerifyError(err error) SignerResult {
	switch {
	case errors.Is(err, cms.ErrDigestMismatch):
		return r.with(SigFail, ReasonContentAltered, "signed content altered", err)
	case errors.Is(err, cms.ErrVerify):
		return r.with(SigFail, ReasonBadSignature, "signature does not match", err)
	case errors.Is(err, cms.ErrUnsupported):
		return r.with(SigNeutral, ReasonUnsupported, "unsupported algorithm", err)
	}
	return r.with(SigPermError, ReasonCorrupt, "signature is corrupt", err)
}

// checkDates fails a certificate outside its validity period; it reports
// true when r holds the final result. An expired certificate is a fact
// whoever issued it, so this comes before the chain. RFC 5280 section
// 6.1.3 checks validity at the current time; the signing-time attribute
// is the sender's claim and proves nothing.
func (v *Verifier) checkDates(r *SignerResult, cert *x509.Certificate) bool {
	now := v.now()
	switch {
	case now.After(cert.NotAfter):
		*r = r.with(SigFail, ReasonExpired, "certificate expired "+day(cert.NotAfter), nil)
	case now.Before(cert.NotBefore):
		*r = r.with(SigFail, ReasonNotYetValid, "certificate not yet valid", nil)
	default:
		return false
	}
	return true
}

// checkDigest applies the algorithm policy: SHA-1 and MD5 digests make
// "policy" unless allowed. It comes before the chain so that the reader
// learns the one thing the sender can fix.
func (v *Verifier) checkDigest(r *SignerResult) bool {
	if r.DigestAlgorithm == "sha1" && !v.Policy.AllowSHA1 ||
		r.DigestAlgorithm == "md5" && !v.Policy.AllowMD5 {
		*r = r.with(SigPolicy, ReasonWeakAlgorithm, "weak digest "+r.DigestAlgorithm, nil)
		return true
	}
	return false
}

// checkUsage applies RFC 8550 section 4.4: a certificate that lists
// extended key usages must allow e-mail protection, and one with a key
// usage extension must allow signing. The chain check would reject the
// first as untrusted; saying why is more useful.
func checkUsage(r *SignerResult, cert *x509.Certificate) bool {
	if !canSign(cert) {
		*r = r.with(SigPolicy, ReasonNotForSigning, "certificate not for signing", nil)
		return true
	}
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return false
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection || u == x509.ExtKeyUsageAny {
			return false
		}
	}
	*r = r.with(SigPolicy, ReasonNotForSigning, "certificate not for e-mail", nil)
	return true
}

// checkChain checks the chain to a trusted root. It returns the chain, or
// done when r holds the final result.
func (v *Verifier) checkChain(r *SignerResult, cert *x509.Certificate,
	certs []*x509.Certificate) ([]*x509.Certificate, bool) {
	now := v.now()
	if v.Trust == nil {
		*r = r.with(SigNeutral, ReasonUntrusted, "issuer not trusted",
			errors.New("smime: no trust store configured"))
		return nil, true
	}
	extra := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if c != cert {
			extra = append(extra, c)
		}
	}
	key := chainKey(cert, extra)
	if chain, ok := v.chains.get(key, now); ok {
		return chain, false
	}
	chains, err := v.Trust.Verify(cert, extra, now)
	if err != nil || len(chains) == 0 {
		*r = r.with(SigNeutral, ReasonUntrusted, "issuer not trusted", err)
		return nil, true
	}
	v.chains.put(key, chains[0], now)
	return chains[0], false
}

// checkRevocation asks the revocation checker about the chain; it
// reports true when r holds the final result.
func (v *Verifier) checkRevocation(ctx context.Context, r *SignerResult,
	chain []*x509.Certificate) bool {
	if v.Revocation == nil {
		r.RevocationSource = "off"
		return false
	}
	rev := v.Revocation.CheckRevocation(ctx, chain)
	r.RevocationSource = rev.Source
	switch rev.Status {
	case RevocationGood:
		return false
	case RevocationRevoked:
		comment := "certificate revoked"
		if !rev.RevokedAt.IsZero() {
			comment += " " + day(rev.RevokedAt)
		}
		*r = r.with(SigFail, ReasonRevoked, comment, nil)
		return true
	}
	if v.Policy.RevocationFailOpen {
		return false
	}
	*r = r.with(SigTempError, ReasonRevocationCheck, "revocation status unknown", rev.Err)
	return true
}

// checkPolicy applies the last rule to a signature that holds and chains
// to a trusted, unrevoked root: the signer must be the sender (RFC 8550
// section 3).
func (v *Verifier) checkPolicy(r SignerResult, cert *x509.Certificate,
	senders []string) SignerResult {
	if !senderMatches(cert, senders) {
		return r.with(SigPolicy, ReasonSenderMismatch, "signer is not the From address", nil)
	}
	return r.with(SigPass, "", "", nil)
}

// canSign applies RFC 8550 section 4.4.2: when keyUsage is present,
// digitalSignature or nonRepudiation must be set.
func canSign(cert *x509.Certificate) bool {
	if cert.KeyUsage == 0 {
		return true
	}
	return cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) != 0
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// describeCert fills the signer's name and address from the certificate.
func describeCert(r *SignerResult, cert *x509.Certificate, senders []string) {
	r.Name = cert.Subject.CommonName
	addrs := certAddresses(cert)
	for _, a := range addrs {
		for _, s := range senders {
			if strings.EqualFold(a, s) {
				r.Identifier = a
				return
			}
		}
	}
	if len(addrs) > 0 {
		r.Identifier = addrs[0]
	}
}
