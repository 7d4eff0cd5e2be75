#!/usr/bin/env python3
"""Twilio Messages API stand-in for the end-to-end tests.

Speaks the real wire format: POST /2010-04-01/Accounts/{sid}/Messages.json
with HTTP Basic auth (sid:token) and a form body To, From, Body; answers
201 with a message resource, 401 error 20003 on bad credentials, 400
error 21211 when To is +15005550001 (Twilio's magic "invalid number"),
400 error 21604 when To is missing.  Every request is recorded:
GET /__requests lists them, POST /__reset forgets them.

    sms_standin.py --port 0 [--sid ACtest] [--token twilio-test-token]

prints "READY <port>" on stdout once listening on 127.0.0.1.
"""
import argparse
import base64
import json
import os
import re
import secrets
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BODY_MAX = 64 * 1024
INVALID_TO = "+15005550001"
PATH_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")

lock = threading.Lock()
recorded = []


def twilio_error(code, message, status):
    return {
        "code": code,
        "message": message,
        "more_info": "https://www.twilio.com/docs/errors/%d" % code,
        "status": status,
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "sms-standin/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("sms-standin: " + (fmt % args) + "\n")

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def basic_user(self):
        """(user, password) from the Authorization header, or None."""
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None
        try:
            raw = base64.b64decode(h[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, pw = raw.partition(":")
        return (user, pw) if sep else None

    def do_GET(self):
        if self.path == "/__requests":
            with lock:
                self.answer(200, {"requests": list(recorded)})
            return
        self.answer(404, twilio_error(20404, "The requested resource "
                                      "was not found", 404))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > BODY_MAX:
            self.answer(413, twilio_error(20001, "Body too large", 413))
            return
        raw = self.rfile.read(n) if n else b""
        if self.path == "/__reset":
            with lock:
                recorded.clear()
            self.answer(200, {"reset": True})
            return
        m = PATH_RE.match(self.path)
        if m is None:
            self.answer(404, twilio_error(20404, "The requested resource "
                                          "was not found", 404))
            return
        form = {k: v[0] for k, v in
                parse_qs(raw.decode("utf-8", "replace"),
                         keep_blank_values=True).items()}
        cred = self.basic_user()
        with lock:
            recorded.append({
                "method": "POST",
                "path": self.path,
                "auth_user": cred[0] if cred else None,
                "auth_ok": cred == (self.server.sid, self.server.token),
                "content_type": self.headers.get("Content-Type"),
                "form": form,
            })
        if cred != (self.server.sid, self.server.token) or \
                m.group(1) != self.server.sid:
            self.answer(401, twilio_error(20003, "Authenticate", 401))
            return
        to = form.get("To", "")
        if to == "":
            self.answer(400, twilio_error(
                21604, "A 'To' phone number is required.", 400))
            return
        if to == INVALID_TO:
            self.answer(400, twilio_error(
                21211, "The 'To' number %s is not a valid phone number."
                % to, 400))
            return
        now = datetime.now(timezone.utc).strftime(
            "%a, %d %b %Y %H:%M:%S +0000")
        sid = "SM" + secrets.token_hex(16)
        self.answer(201, {
            "sid": sid,
            "account_sid": self.server.sid,
            "to": to,
            "from": form.get("From"),
            "body": form.get("Body", ""),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "uri": "/2010-04-01/Accounts/%s/Messages/%s.json"
                   % (self.server.sid, sid),
        })


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--sid", default=os.environ.get("SMS_STANDIN_SID",
                                                    "ACtest"))
    ap.add_argument("--token", default=os.environ.get(
        "SMS_STANDIN_TOKEN", "twilio-test-token"))
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.sid = args.sid
    srv.token = args.token
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
