// Package smime works at the level of mail messages: it recognises S/MIME
// entities by their Content-Type (RFC 8551 section 3.2), pulls the CMS
// object out of the MIME body, decrypts it with the user's keys through the
// smime/cms package (RFC 5652), and describes what happened in the
// X-SMIME-Status header that the proxy adds to the message it hands out.
//
// Decryption is reported as a result value, never as a Go error: a message
// that cannot be opened is data about the message (no key, unsupported
// algorithm, corrupt, too large), and the client learns only that class.
// The detailed reason stays in DecryptResult.Err for the log, so that no
// difference between bad padding, a bad MAC and a wrong key can be seen
// from outside.
package smime
