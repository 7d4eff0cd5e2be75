#!/usr/bin/env python3
"""Local stand-in for an OpenTelemetry collector (OTLP/HTTP JSON), used by the
end-to-end tests.

  POST /v1/traces      an ExportTraceServiceRequest in JSON: checked against
                       the OTLP/JSON structure (resourceSpans / scopeSpans /
                       spans, hex ids of the right length, nanosecond times as
                       decimal strings, end >= start, typed attribute values,
                       status code 0-2, kind 0-5); 200 {} when valid and every
                       span recorded with its resource's service.name; 400 and
                       the problem recorded otherwise
  GET  /__spans        every span recorded (JSON list), each with "service"
  GET  /__requests     per export request: headers and span count
  GET  /__errors       structure problems found (JSON list of strings)
  POST /__down?mode=drop|503&ms=N
                       for N ms, close connections without an answer (drop)
                       or answer 503 (collector unreachable or failing)
  POST /__reset        forget everything

Usage: python3 otlp_standin.py --port N   (0 picks a free port; prints
"READY <port>" once listening; binds 127.0.0.1; standard library only).
"""

import argparse
import http.server
import json
import re
import socket
import sys
import threading
import time
import urllib.parse

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
NANOS = re.compile(r"^[0-9]{1,20}$")
MAX_BODY = 16 * 1024 * 1024
VALUE_KEYS = {"stringValue", "intValue", "doubleValue", "boolValue",
              "arrayValue", "kvlistValue", "bytesValue"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.spans = []
            self.requests = []
            self.errors = []
            self.down_until = 0.0
            self.down_mode = "drop"


def check_value(v, where, errs):
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in VALUE_KEYS:
        errs.append("%s: value is not one typed AnyValue: %r" % (where, v))
        return
    k, x = next(iter(v.items()))
    if k == "stringValue" and not isinstance(x, str):
        errs.append("%s: stringValue not a string" % where)
    if k == "intValue" and not (isinstance(x, int) or
                                (isinstance(x, str) and re.match(r"^-?[0-9]+$", x))):
        errs.append("%s: intValue not an integer" % where)
    if k == "boolValue" and not isinstance(x, bool):
        errs.append("%s: boolValue not a bool" % where)
    if k == "arrayValue":
        vals = x.get("values") if isinstance(x, dict) else None
        if not isinstance(vals, list):
            errs.append("%s: arrayValue without values" % where)
        else:
            for i, e in enumerate(vals):
                check_value(e, "%s[%d]" % (where, i), errs)


def check_attrs(attrs, where, errs):
    if not isinstance(attrs, list):
        errs.append("%s: attributes not a list" % where)
        return {}
    out = {}
    for a in attrs:
        if not isinstance(a, dict) or not isinstance(a.get("key"), str) or "value" not in a:
            errs.append("%s: bad attribute %r" % (where, a))
            continue
        check_value(a["value"], "%s.%s" % (where, a["key"]), errs)
        out[a["key"]] = a["value"]
    return out


def check_span(s, where, errs):
    if not isinstance(s, dict):
        errs.append("%s: not an object" % where)
        return
    if not HEX32.match(str(s.get("traceId", ""))):
        errs.append("%s: traceId %r" % (where, s.get("traceId")))
    if not HEX16.match(str(s.get("spanId", ""))):
        errs.append("%s: spanId %r" % (where, s.get("spanId")))
    if "parentSpanId" in s and s["parentSpanId"] != "" and \
            not HEX16.match(str(s["parentSpanId"])):
        errs.append("%s: parentSpanId %r" % (where, s["parentSpanId"]))
    if not isinstance(s.get("name"), str) or not s["name"]:
        errs.append("%s: name" % where)
    if s.get("kind", 0) not in range(6):
        errs.append("%s: kind %r" % (where, s.get("kind")))
    st, en = s.get("startTimeUnixNano"), s.get("endTimeUnixNano")
    if not (isinstance(st, str) and NANOS.match(st) and isinstance(en, str)
            and NANOS.match(en)):
        errs.append("%s: times %r %r" % (where, st, en))
    elif int(en) < int(st):
        errs.append("%s: ends before it starts" % where)
    elif int(st) < 10 ** 18:
        errs.append("%s: start is not Unix nanoseconds" % where)
    check_attrs(s.get("attributes", []), where, errs)
    status = s.get("status", {})
    if not isinstance(status, dict) or status.get("code", 0) not in (0, 1, 2):
        errs.append("%s: status %r" % (where, status))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("too large")
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        st = self.server.state
        with st.lock:
            if self.path == "/__spans":
                return self.reply(200, st.spans)
            if self.path == "/__requests":
                return self.reply(200, st.requests)
            if self.path == "/__errors":
                return self.reply(200, st.errors)
        self.reply(404, {})

    def do_POST(self):
        st = self.server.state
        url = urllib.parse.urlparse(self.path)
        if url.path == "/__reset":
            self.body()
            st.reset()
            return self.reply(200, {})
        if url.path == "/__down":
            self.body()
            q = urllib.parse.parse_qs(url.query)
            with st.lock:
                st.down_mode = q.get("mode", ["drop"])[0]
                st.down_until = time.time() + int(q.get("ms", ["0"])[0]) / 1000
            return self.reply(200, {})
        if url.path != "/v1/traces":
            self.body()
            return self.reply(404, {})
        with st.lock:
            down, mode = time.time() < st.down_until, st.down_mode
        if down and mode == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        raw = self.body()
        if down:
            return self.reply(503, {"code": 14, "message": "unavailable"})
        errs = []
        spans = []
        try:
            req = json.loads(raw)
        except ValueError:
            errs.append("body is not JSON")
            req = {}
        if (self.headers.get("Content-Type") or "").split(";")[0] != "application/json":
            errs.append("Content-Type is not application/json")
        rss = req.get("resourceSpans") if isinstance(req, dict) else None
        if not isinstance(rss, list) or not rss:
            errs.append("no resourceSpans")
            rss = []
        for i, rs in enumerate(rss):
            res = rs.get("resource", {}) if isinstance(rs, dict) else {}
            rattrs = check_attrs(res.get("attributes", []), "resource", errs)
            svc = rattrs.get("service.name", {}).get("stringValue")
            if not svc:
                errs.append("resourceSpans[%d]: no service.name" % i)
            for j, ss in enumerate(rs.get("scopeSpans", []) if isinstance(rs, dict) else []):
                scope = ss.get("scope", {})
                if not isinstance(scope.get("name"), str):
                    errs.append("scopeSpans[%d]: scope without a name" % j)
                for k, sp in enumerate(ss.get("spans", [])):
                    check_span(sp, "span[%d.%d.%d]" % (i, j, k), errs)
                    if isinstance(sp, dict):
                        sp = dict(sp)
                        sp["service"] = svc
                        spans.append(sp)
        with st.lock:
            st.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                "spans": len(spans)})
            if errs:
                st.errors.extend(errs)
            else:
                st.spans.extend(spans)
        if errs:
            return self.reply(400, {"code": 3, "message": "; ".join(errs[:5])})
        self.reply(200, {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.state = State()
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
