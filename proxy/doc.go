// Package proxy holds what the IMAP and POP3 fronts of smimeproxy share:
// connecting to the mailbox server (plain, STARTTLS or implicit TLS),
// session identities and the registry of live sessions that the logs and
// the admin dashboard read.
//
// The protocol fronts live in sub-packages (imapproxy, later pop3proxy);
// the message transformation they both apply lives in proxy/pipeline.
package proxy
