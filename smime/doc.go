// Package smime works at the level of mail messages: it recognises S/MIME
// entities by their Content-Type (RFC 8551 section 3.2), pulls the CMS
// object out of the MIME body, decrypts it with the user's keys through the
// smime/cms package (RFC 5652), verifies signatures (RFC 8551 section 3.5,
// certificates per RFC 8550) with a Verifier, and describes what happened
// in the X-SMIME-Status header and, for signatures, the
// Authentication-Results field (RFC 8601, RFC 7281) that the proxy adds to
// the message it hands out.
//
// Decryption and verification are reported as result values, never as Go
// errors: a message that cannot be opened, or whose signature does not
// hold, is data about the message (no key, unsupported algorithm, corrupt,
// too large; fail, neutral, policy...), and the client learns only that
// class.
// The detailed reason stays in DecryptResult.Err for the log, so that no
// difference between bad padding, a bad MAC and a wrong key can be seen
// from outside.
package smime
