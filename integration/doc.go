// Package integration holds the end-to-end tests of smimeproxy: they start a
// private Dovecot (RFC 9051 / RFC 3501 IMAP server) on loopback, deliver
// S/MIME messages (RFC 8551) made by openssl at test time, run the built
// smimeproxy binary in front of it and check, through go-imap's client and
// Python's imaplib, what a mail client sees.
//
// The tests need root (Dovecot drops to the vmail user for mail access),
// dovecot, doveadm, openssl and python3; `make deps` installs them. Without
// them the tests skip, except under CI=true where they fail.
package integration
