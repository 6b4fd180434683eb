// Package metrics counts what the proxy does, for the Prometheus endpoint
// and the admin dashboard: decryptions by outcome, signatures by result,
// forged status fields removed, sessions, upstream command latency and a
// short list of recent audit events.
//
// Its one job is to turn the events the proxy already produces
// (pipeline.Observer, imapproxy.Options.ObserveUpstream, the session
// Registry) into figures. Label values come from small fixed lists
// (labels.go): anything else is counted as "other", so neither a user
// name nor a message id nor a malicious upstream can make a new time
// series. The recent-events list does show users and mailboxes: it is
// for the operator's eyes behind the admin token, never a label.
package metrics
