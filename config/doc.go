// Package config loads and checks smimeproxy's one TOML configuration file.
//
// Its one job is to turn the file into a [Config] with every default filled
// in, or into an [*Error] that lists every problem at once with file, line and
// dotted key, so that an operator fixes the file in one pass. Insecure but
// legal choices are not errors; [Config.Warnings] returns them so that serve
// can print them loudly at start.
//
// Rules decided here (the example config documents them too):
//
//   - Relative file paths are resolved against the directory of the config
//     file, so a config and its certificates can move together.
//   - A section ([imap], [pop3]) is on when it has a listener (listen or
//     tls_listen not empty); then upstream is required. [imap] listens on
//     127.0.0.1:1143 by default; [pop3] is off by default.
//   - tls_listen needs [tls] cert_file and key_file. A plain listen without
//     [tls] cannot offer STARTTLS (RFC 3501 section 6.2.1, RFC 2595), so
//     logins there would always be refused: that is a problem unless
//     allow_insecure_auth = true.
//   - Secrets are never inline: the vault master key comes from
//     master_key_file or from the environment variable named by
//     master_key_env, never both. A missing master key file is a problem for
//     check-config and serve; `keys init`, which creates it, loads with
//     [Options].MasterKeyMayBeMissing. The key's format (base64 of 32 bytes)
//     and the file's mode (no access for group or others) are checked the
//     way the keystore checks them at start, so check-config passes only
//     files serve accepts.
package config
