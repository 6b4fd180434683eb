// Package imapproxy is smimeproxy's IMAP front: an IMAP4rev1 server
// (RFC 3501) facing the client and, per client session, one IMAP client
// connection to the mailbox server that logs in with the client's own
// credentials.
//
// Commands are relayed with their meaning intact. FETCH is where the proxy
// does its work: messages that need it (S/MIME enveloped data, or a forged
// status header) are fetched whole, run through the shared pipeline and every
// requested item is answered from the transformed message, so that sizes,
// structures and partial fetches all agree with the bytes the client reads.
// Everything else is passed through from the upstream response unchanged.
//
// Untagged updates the mailbox server sends (EXISTS, EXPUNGE, FETCH FLAGS)
// are queued and handed to the client when IMAP allows it: after a command
// (RFC 3501 section 7) or at once during IDLE (RFC 2177).
package imapproxy
