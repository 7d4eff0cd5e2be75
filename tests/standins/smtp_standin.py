#!/usr/bin/env python3
"""SMTP server stand-in for the end-to-end tests (RFC 5321, asyncio).

Speaks the protocol a mail relay does: greeting, EHLO/HELO, AUTH PLAIN
and LOGIN (when --user is given, MAIL needs it: 530), MAIL FROM, RCPT TO,
DATA with dot-unstuffing, RSET, NOOP, VRFY, QUIT; replies 500/501/503 to
bad lines, bad arguments and bad sequences.  No STARTTLS is offered.
Recipients decide the outcome, like a real relay's answers:

    local part containing "reject"    550 at RCPT (no such mailbox)
    local part containing "tempfail"  451 at RCPT (try again later)

Every accepted message is recorded; an HTTP side port serves
GET /__messages ({"messages": [{mail_from, rcpt, data, auth}]}) and
POST /__reset.

    smtp_standin.py --port 0 [--http-port 0] [--user U --password P]

prints "READY <smtp port> <http port>" on stdout once listening on
127.0.0.1.
"""
import argparse
import asyncio
import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LINE_MAX = 1000          # RFC 5321 4.5.3.1.6, with CRLF
DATA_MAX = 1024 * 1024
HOST = "smtp-standin.test"
PATH_RE = re.compile(r"^(?i:(MAIL FROM|RCPT TO)):\s*<([^<>]*)>(.*)$")

lock = threading.Lock()
messages = []
args = None


class Session:
    def __init__(self, reader, writer):
        self.r = reader
        self.w = writer
        self.helo = None
        self.auth = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpt = []

    async def reply(self, code, text):
        lines = text.split("\n")
        out = "".join("%d-%s\r\n" % (code, l) for l in lines[:-1])
        out += "%d %s\r\n" % (code, lines[-1])
        self.w.write(out.encode())
        await self.w.drain()

    async def line(self):
        raw = await self.r.readline()
        if not raw:
            return None
        if len(raw) > LINE_MAX or not raw.endswith(b"\r\n"):
            # Too long, or a bare LF: discard up to the next CRLF.
            while raw and not raw.endswith(b"\r\n"):
                raw = await self.r.readline()
            return b""
        return raw[:-2]

    async def run(self):
        await self.reply(220, HOST + " ESMTP smtp-standin ready")
        while True:
            raw = await self.line()
            if raw is None:
                return
            if raw == b"":
                await self.reply(500, "5.5.6 Line too long or not CRLF")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                await self.reply(500, "5.5.2 Syntax error")
                continue
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            handler = getattr(self, "do_" + verb, None)
            if handler is None:
                await self.reply(502, "5.5.1 Command not implemented")
                continue
            if await handler(arg.strip()) == "quit":
                return

    async def do_EHLO(self, arg):
        if not arg:
            return await self.reply(501, "5.5.4 EHLO needs a domain")
        self.helo = arg
        self.reset()
        ext = [HOST + " greets " + arg, "8BITMIME", "SIZE %d" % DATA_MAX,
               "ENHANCEDSTATUSCODES"]
        if args.user:
            ext.append("AUTH PLAIN LOGIN")
        await self.reply(250, "\n".join(ext))

    async def do_HELO(self, arg):
        if not arg:
            return await self.reply(501, "5.5.4 HELO needs a domain")
        self.helo = arg
        self.reset()
        await self.reply(250, HOST)

    async def do_AUTH(self, arg):
        if not args.user:
            return await self.reply(502, "5.5.1 AUTH not offered")
        if self.auth:
            return await self.reply(503, "5.5.1 Already authenticated")
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if mech == "PLAIN":
            if not initial:
                await self.reply(334, "")
                initial = ((await self.line()) or b"").decode()
            try:
                _, user, pw = base64.b64decode(initial).decode().split("\0")
            except (ValueError, UnicodeDecodeError):
                return await self.reply(501, "5.5.2 Bad PLAIN response")
        elif mech == "LOGIN":
            try:
                await self.reply(334, base64.b64encode(b"Username:").decode())
                user = base64.b64decode((await self.line()) or b"").decode()
                await self.reply(334, base64.b64encode(b"Password:").decode())
                pw = base64.b64decode((await self.line()) or b"").decode()
            except (ValueError, UnicodeDecodeError):
                return await self.reply(501, "5.5.2 Bad LOGIN response")
        else:
            return await self.reply(504, "5.5.4 Mechanism not supported")
        if user == args.user and pw == args.password:
            self.auth = user
            return await self.reply(235, "2.7.0 Authentication succeeded")
        await self.reply(535, "5.7.8 Authentication credentials invalid")

    async def do_MAIL(self, arg):
        if self.helo is None:
            return await self.reply(503, "5.5.1 EHLO first")
        if args.user and not self.auth:
            return await self.reply(530, "5.7.0 Authentication required")
        if self.mail_from is not None:
            return await self.reply(503, "5.5.1 Nested MAIL")
        m = PATH_RE.match("MAIL " + arg)
        if not m or m.group(1).upper() != "MAIL FROM":
            return await self.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
        self.mail_from = m.group(2)
        await self.reply(250, "2.1.0 Sender ok")

    async def do_RCPT(self, arg):
        if self.mail_from is None:
            return await self.reply(503, "5.5.1 MAIL first")
        m = PATH_RE.match("RCPT " + arg)
        if not m or m.group(1).upper() != "RCPT TO" or "@" not in m.group(2):
            return await self.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
        addr = m.group(2)
        local = addr.split("@")[0].lower()
        if "reject" in local:
            return await self.reply(550, "5.1.1 No such mailbox: " + addr)
        if "tempfail" in local:
            return await self.reply(451, "4.3.0 Try again later")
        self.rcpt.append(addr)
        await self.reply(250, "2.1.5 Recipient ok")

    async def do_DATA(self, arg):
        if not self.rcpt:
            return await self.reply(503, "5.5.1 RCPT first")
        await self.reply(354, "End data with <CR><LF>.<CR><LF>")
        lines, size, too_big = [], 0, False
        while True:
            raw = await self.r.readline()
            if not raw:
                return "quit"
            if raw == b".\r\n":
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            size += len(raw)
            if size > DATA_MAX:
                too_big = True
            elif not too_big:
                lines.append(raw)
        if too_big:
            self.reset()
            return await self.reply(552, "5.3.4 Message too big")
        data = b"".join(lines).decode("utf-8", "replace")
        with lock:
            messages.append({"mail_from": self.mail_from,
                             "rcpt": list(self.rcpt), "data": data,
                             "auth": self.auth, "helo": self.helo})
            n = len(messages)
        self.reset()
        await self.reply(250, "2.0.0 Ok: queued as M%d" % n)

    async def do_RSET(self, arg):
        self.reset()
        await self.reply(250, "2.0.0 Ok")

    async def do_NOOP(self, arg):
        await self.reply(250, "2.0.0 Ok")

    async def do_VRFY(self, arg):
        await self.reply(252, "2.5.0 Cannot VRFY, but will accept")

    async def do_QUIT(self, arg):
        await self.reply(221, "2.0.0 Bye")
        return "quit"


async def serve_client(reader, writer):
    try:
        await Session(reader, writer).run()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


class Admin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("smtp-standin: " + (fmt % a) + "\n")

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__messages":
            with lock:
                return self.answer(200, {"messages": list(messages)})
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path == "/__reset":
            with lock:
                messages.clear()
            return self.answer(200, {"ok": True})
        self.answer(404, {"error": "not found"})


async def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--user")
    p.add_argument("--password", default="")
    args = p.parse_args()

    admin = ThreadingHTTPServer(("127.0.0.1", args.http_port), Admin)
    threading.Thread(target=admin.serve_forever, daemon=True).start()
    server = await asyncio.start_server(serve_client, "127.0.0.1", args.port,
                                        limit=64 * 1024)
    port = server.sockets[0].getsockname()[1]
    print("READY %d %d" % (port, admin.server_address[1]), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
