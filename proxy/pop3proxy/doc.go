// Package pop3proxy is smimeproxy's POP3 front: a POP3 server (RFC 1939,
// with CAPA from RFC 2449, STLS from RFC 2595 and SASL AUTH from RFC 5034)
// facing the client and, per client session, one POP3 client connection
// to the mailbox server that logs in with the client's own credentials.
// It holds its own small codec and client, since no POP3 library is at
// hand.
//
// Logging in is relayed: USER/PASS as such, AUTH PLAIN as PLAIN (or as
// USER/PASS when the server lacks PLAIN), AUTH LOGIN when the server
// offers it, and APOP when the server's greeting carries a timestamp:
// the proxy's greeting repeats that timestamp, so the client's digest is
// checked by the mailbox server and the proxy never holds the password.
// The client is in exactly when the server says +OK, and a -ERR carries
// the server's own text. Credentials are refused on connections without
// TLS unless Options.InsecureAuth is set.
//
// RETR and TOP answer with the message the shared pipeline makes: S/MIME
// envelopes decrypted with the user's keys and annotated, everything
// else byte for byte. STAT and LIST report the sizes of those messages,
// so that clients that check sizes agree with RETR. Learning them costs
// the first session of a maildrop a TOP n 0 per message (pipelined) and a
// RETR and decryption per message that changes (decryptions run one per
// CPU); the sizes are then kept per user and UIDL, without content, so
// later sessions fetch nothing for them. A size learnt from a decryption
// attempt expires when the user's set of keys changes. UIDL values are
// the server's, unchanged.
//
// RETR reads the whole message from the server before answering, so that
// a server that fails mid-message yields -ERR and the end of the session,
// never a short message that looks complete.
//
// Deletions follow RFC 1939 section 6: DELE and RSET are relayed, and the
// upstream QUIT that deletes is sent only for the client's own QUIT. A
// session that ends any other way closes the upstream connection without
// QUIT, so nothing is deleted.
package pop3proxy
