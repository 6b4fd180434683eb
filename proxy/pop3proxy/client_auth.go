package pop3proxy

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// User and Pass log in with RFC 1939 section 7 USER and PASS. The
// arguments must not hold CR or LF; the front checks that.
func (c *Client) User(name string) (string, error) { return c.Cmd("USER %s", name) }

// Pass sends the password after User.
func (c *Client) Pass(password string) (string, error) { return c.Cmd("PASS %s", password) }

// APOP logs in with a digest the client computed over our greeting's
// timestamp (RFC 1939 section 7).
func (c *Client) APOP(name, digest string) (string, error) {
	return c.Cmd("APOP %s %s", name, digest)
}

// AuthPlain relays an RFC 4616 PLAIN response, already base64-encoded,
// with AUTH (RFC 5034 section 4): as an initial response when the command
// stays within 255 octets, else after the server's empty challenge.
func (c *Client) AuthPlain(response string) (text string, err error) {
	if len("AUTH PLAIN ")+len(response)+2 <= maxSASLCommand {
		return c.Cmd("AUTH PLAIN %s", response)
	}
	defer c.observe("AUTH", time.Now(), &err)
	if err := c.send("AUTH PLAIN"); err != nil {
		return "", err
	}
	if err := c.readChallenge(); err != nil {
		return "", err
	}
	if err := c.send("%s", response); err != nil {
		return "", err
	}
	return c.readStatus()
}

// AuthLogin runs the LOGIN mechanism (draft-murchison-sasl-login): the
// server asks for the user name, then the password, each base64-encoded.
func (c *Client) AuthLogin(name, password string) (text string, err error) {
	defer c.observe("AUTH", time.Now(), &err)
	if err := c.send("AUTH LOGIN"); err != nil {
		return "", err
	}
	for _, answer := range []string{name, password} {
		if err := c.readChallenge(); err != nil {
			return "", err
		}
		if err := c.send("%s", base64.StdEncoding.EncodeToString([]byte(answer))); err != nil {
			return "", err
		}
	}
	return c.readStatus()
}

// readChallenge reads a SASL continuation ("+" and base64 text); a -ERR
// comes back as *Error.
func (c *Client) readChallenge() error {
	line, err := readLine(c.r, maxResponseLine)
	if err != nil {
		return err
	}
	if line == "+" || strings.HasPrefix(line, "+ ") {
		return nil
	}
	ok, text, err := parseStatus(line)
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("%w: +OK where a SASL challenge was due", ErrProtocol)
	}
	return &Error{Text: text}
}
