"""Read a maildrop through smimeproxy with Python's poplib.

Usage: pop3_poplib.py HOST:PORT USER PASSWORD CAFILE

Upgrades with STLS, logs in with USER/PASS, and prints JSON: STAT, and for
every message its LIST size, the RETR bytes and TOP n 2 (both base64, as
JSON strings), so that the Go test can compare them.
"""

import base64
import json
import poplib
import ssl
import sys


def message_bytes(lines):
    # poplib strips CRLF and undoes the dot-stuffing; put the line ends back.
    return b"".join(line + b"\r\n" for line in lines)


def main():
    addr, user, password, cafile = sys.argv[1:5]
    host, port = addr.rsplit(":", 1)
    conn = poplib.POP3(host, int(port), timeout=60)
    context = ssl.create_default_context(cafile=cafile)
    conn.stls(context=context)
    conn.user(user)
    conn.pass_(password)
    count, total = conn.stat()
    _, listing, _ = conn.list()
    messages = []
    for line in listing:
        num, size = (int(x) for x in line.split()[:2])
        _, lines, _ = conn.retr(num)
        _, top_lines, _ = conn.top(num, 2)
        messages.append({
            "Num": num,
            "Listed": size,
            "Msg": base64.b64encode(message_bytes(lines)).decode(),
            "Top": base64.b64encode(message_bytes(top_lines)).decode(),
        })
    conn.quit()
    json.dump({"Stat": [count, total], "Messages": messages, "STLS": True}, sys.stdout)


if __name__ == "__main__":
    main()
