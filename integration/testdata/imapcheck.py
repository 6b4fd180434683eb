#!/usr/bin/env python3
"""IMAP client side of smimeproxy's integration tests, using Python's imaplib.

Reads one job as JSON on stdin, prints the result as JSON on stdout. The Go
test decides what is right; this script only talks IMAP and reports what the
server said, normalised so that two servers' answers can be compared:

  job = {"host": ..., "port": ..., "tls": "none" | "starttls" | "implicit",
         "cafile": PATH, "user": ..., "password": ...,
         "mode": "fetch" | "login",
         "mailboxes": [{"name": ..., "uids": [...]}],   # mode fetch
         "items": ["BODY.PEEK[]", ...]}                  # mode fetch

  result = {"capabilities": [...], "login_ok": bool, "login_error": str,
            "fetch": {"MAILBOX/UID": {ITEM NAME: {"s": BASE64} | {"v": TEXT}}}}

Values that are IMAP strings (quoted or literal) come as {"s": base64 of the
bytes}; anything else (numbers, NIL, lists) as {"v": canonical text} with the
strings inside lists always written quoted. BODYSTRUCTURE and BODY come twice:
as sent, and as "... PARAMS-SORTED" with MIME parameters in a fixed order.
"""

import base64
import imaplib
import json
import ssl
import sys


def connect(job):
    host, port = job["host"], job["port"]
    if job["tls"] == "implicit":
        ctx = ssl.create_default_context(cafile=job["cafile"])
        return imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
    conn = imaplib.IMAP4(host, port)
    if job["tls"] == "starttls":
        conn.starttls(ssl.create_default_context(cafile=job["cafile"]))
    return conn


class Parser:
    """Just enough of RFC 9051's response grammar to split FETCH data."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def peek(self):
        return self.data[self.pos:self.pos + 1]

    def skip_spaces(self):
        while self.peek() == b" ":
            self.pos += 1

    def expect(self, token):
        if not self.data.startswith(token, self.pos):
            raise ValueError("expected %r at %d: %r" % (
                token, self.pos, self.data[self.pos:self.pos + 40]))
        self.pos += len(token)

    def atom(self):
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos:self.pos + 1] not in (
                b" ", b"(", b")", b"\r"):
            self.pos += 1
        return self.data[start:self.pos]

    def item_name(self):
        start = self.pos
        while self.peek() not in (b" ", b""):
            if self.peek() == b"[":
                self.pos = self.data.index(b"]", self.pos)
            self.pos += 1
        # Header field names are astrings (RFC 9051 section 9): a server may
        # echo them quoted or as atoms; the name is the same either way.
        return self.data[start:self.pos].decode().upper().replace('"', "")

    def value(self):
        c = self.peek()
        if c == b"(":
            self.pos += 1
            items = []
            while True:
                self.skip_spaces()
                if self.peek() == b")":
                    self.pos += 1
                    return ("list", items)
                items.append(self.value())
        if c == b'"':
            return ("string", self.quoted())
        if c == b"{":
            return ("string", self.literal())
        return ("atom", self.atom())

    def quoted(self):
        self.expect(b'"')
        out = bytearray()
        while True:
            c = self.data[self.pos:self.pos + 1]
            self.pos += 1
            if c == b"\\":
                out += self.data[self.pos:self.pos + 1]
                self.pos += 1
            elif c == b'"':
                return bytes(out)
            else:
                out += c

    def literal(self):
        end = self.data.index(b"}", self.pos)
        n = int(self.data[self.pos + 1:end].rstrip(b"+"))
        self.pos = end + 1
        self.expect(b"\r\n")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def responses(self):
        """Yields (sequence number, {item: value}) for each FETCH response."""
        while True:
            self.skip_spaces()
            if self.pos >= len(self.data):
                return
            seq = int(self.atom())
            self.skip_spaces()
            self.expect(b"(")
            items = {}
            while True:
                self.skip_spaces()
                if self.peek() == b")":
                    self.pos += 1
                    break
                name = self.item_name()
                self.skip_spaces()
                items[name] = self.value()
            yield seq, items


def canonical(value):
    kind, v = value
    if kind == "string":
        return b'"' + v.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    if kind == "list":
        return b"(" + b" ".join(canonical(x) for x in v) + b")"
    return v.upper() if v.upper() == b"NIL" else v


def sort_params(value):
    """Sorts attribute/value pairs in lists that look like body-fld-param.

    MIME parameter order carries no meaning (RFC 2045 section 5.1), so a
    server that builds BODYSTRUCTURE itself may order them differently."""
    kind, v = value
    if kind != "list":
        return value
    v = [sort_params(x) for x in v]
    if v and len(v) % 2 == 0 and all(x[0] == "string" for x in v):
        pairs = sorted(zip(v[0::2], v[1::2]), key=lambda p: p[0][1].lower())
        v = [x for p in pairs for x in p]
    return ("list", v)


def encode(value):
    if value[0] == "string":
        return {"s": base64.b64encode(value[1]).decode()}
    return {"v": canonical(value).decode("latin-1")}


def raw_fetch(conn, uid, items):
    typ, data = conn.uid("FETCH", str(uid), "(UID " + " ".join(items) + ")")
    if typ != "OK":
        raise RuntimeError("UID FETCH %s: %s %r" % (uid, typ, data))
    raw = b""
    for part in data:
        if isinstance(part, tuple):
            raw += part[0] + b"\r\n" + part[1]
        elif part is not None:
            raw += part
    for _, resp in Parser(raw).responses():
        if resp.get("UID") == ("atom", str(uid).encode()):
            out = {name: encode(v) for name, v in resp.items() if name not in ("UID", "FLAGS")}
            for name in ("BODYSTRUCTURE", "BODY"):
                if name in resp:
                    out[name + " PARAMS-SORTED"] = encode(sort_params(resp[name]))
            return out
    raise RuntimeError("UID FETCH %s: no answer for the UID in %r" % (uid, raw[:200]))


def main():
    job = json.load(sys.stdin)
    result = {"capabilities": [], "login_ok": False, "login_error": "", "fetch": {}}
    conn = connect(job)
    result["capabilities"] = sorted(c for c in conn.capabilities)
    try:
        conn.login(job["user"], job["password"])
        result["login_ok"] = True
    except imaplib.IMAP4.error as e:
        result["login_error"] = str(e.args[0].decode() if isinstance(e.args[0], bytes)
                                    else e.args[0])
    if result["login_ok"] and job["mode"] == "fetch":
        for mbox in job["mailboxes"]:
            typ, data = conn.select(mbox["name"], readonly=False)
            if typ != "OK":
                raise RuntimeError("SELECT %s: %r" % (mbox["name"], data))
            for uid in mbox["uids"]:
                key = "%s/%d" % (mbox["name"], uid)
                result["fetch"][key] = raw_fetch(conn, uid, job["items"])
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
