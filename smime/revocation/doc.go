// Package revocation tells whether the certificates of a verified signer
// chain have been revoked.
//
// Its one job is the revocation step of path validation (RFC 5280 section
// 6.3) for S/MIME signers: CRLs (RFC 5280 section 5) fetched from the
// certificate's CRL distribution points over HTTP or imported by hand, and
// OCSP (RFC 6960) from the authority information access responders.
//
// Rules decided here:
//
//   - Check must only be given chains that [trust.Store.Verify] accepted: the
//     URLs we fetch come from the certificates, so an unverified chain would
//     let any sender make the proxy fetch any URL. Only http:// URLs are used
//     (RFC 5280 section 4.2.1.13 and RFC 6960 appendix A.1 name HTTP; CRLs and
//     OCSP responses are signed, so TLS adds nothing but failure modes), with a
//     time-out, a size limit and at most 3 redirects, all to http://.
//   - A CRL counts only when its signature verifies with the issuer of the
//     certificate being checked and it is current (nextUpdate not passed).
//     A CRL without nextUpdate is used for DefaultCRLTTL after it was fetched;
//     an imported one without nextUpdate until it is replaced.
//   - CRLs and OCSP responses signed with MD5 or SHA-1 are refused
//     (crypto/x509 refuses them, and we agree: a forged "nothing revoked" CRL
//     is the attack). The RFC 4134 sample CRLs (md5WithRSA, DSA-SHA1) are
//     therefore refused on import, with [ErrBadCRL] naming the algorithm.
//   - No network round trip per message once caches are warm: CRLs live in
//     memory over a disk cache, OCSP responses until their nextUpdate. A
//     background loop ([Service.Run]) fetches CRLs again before they expire,
//     at a jittered time so that many proxies do not hit a CA at once.
//   - A source that cannot be reached and a stale CRL that cannot be renewed
//     give [Unknown] with the reason in Result.Err; the caller decides
//     (temperror unless fail_open).
//   - A certificate that names no http CRL distribution point nor OCSP
//     responder, and whose issuer has no imported CRL, is [Good] with Source
//     "none": its CA offers no way to revoke it (NSS, and so Thunderbird,
//     treat it the same). Import that CA's CRLs to have it checked.
//   - Every certificate of the chain but the root is checked, each against
//     its issuer; a root is a trust anchor and is not checked.
//   - OCSP requests carry no nonce (RFC 8954 makes it optional; most
//     responders serve pre-signed responses and ignore it).
package revocation
