#!/usr/bin/env python3
"""Local stand-in for the LLM providers, used by the end-to-end tests.

Speaks both wire formats the server uses:

  POST /v1/chat/completions                      OpenAI Chat Completions
                                                 (plain, or stream=true SSE with
                                                 the include_usage chunk + [DONE])
  POST /v1beta/models/{model}:generateContent    Gemini
  POST /v1beta/models/{model}:streamGenerateContent?alt=sse
                                                 Gemini SSE (a JSON array
                                                 without alt=sse, as Gemini does)
  GET  /__requests                               every request recorded (JSON)
  POST /__reset                                  forget requests and counters

Behaviour is steered by directives in the LAST user message, e.g.
  [[delay:2000]]                  sleep 2000 ms before answering
  [[status:429 retry-after:1]]    answer 429; OpenAI: Retry-After: 1 header,
                                  Gemini: RetryInfo.retryDelay "1s" in the body
  [[status:500]]                  answer 500 (any status) every time
  [[fail-times:2 status:503]]     the first 2 requests carrying this exact
                                  message fail with 503, later ones succeed
  [[drop]]                        close the connection mid-body / mid-stream
  [[malformed]]                   200 with a body (or stream event) that is not
                                  JSON
  [[quota]]                       OpenAI 429 insufficient_quota / Gemini 429
                                  RESOURCE_EXHAUSTED naming a per-day limit
  [[json]]                        the answer's content is a JSON object
  [[delay-times:1 delay:60000]]   only the first request carrying this exact
                                  message is delayed
  [[when:TEXT ...]]               the directives apply only when the first
                                  line of the message (directives stripped)
                                  contains TEXT (one step of a workflow)
Several directives may share one [[...]] or use several.

The default answer is deterministic: "Echo: <last user message without
directives, first 80 chars> (<n> messages)", n being the provider-native count
(OpenAI: messages[]; Gemini: contents[]). Usage is real arithmetic: words in
every message (system text included) and words in the answer.

Keys: OpenAI wants "Authorization: Bearer <--openai-key>", Gemini
"x-goog-api-key: <--gemini-key>" (or ?key=); a wrong key gets the provider's
own 401 / 400 API_KEY_INVALID answer. An empty key disables the check.

Usage: python3 llm_standin.py --port N [--openai-key K] [--gemini-key K]
Prints "READY <port>" once listening (port 0 picks a free port). Binds
127.0.0.1 only. Python 3 standard library only.
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

MAX_BODY = 8 * 1024 * 1024
MAX_RECORDED = 10000
ECHO_CHARS = 80
MAX_DELAY_MS = 120000
DIRECTIVE_RE = re.compile(r"\[\[(.*?)\]\]", re.S)
GEMINI_PATH_RE = re.compile(
    r"^/v1beta/models/([A-Za-z0-9._-]+):(generateContent|streamGenerateContent)$")
CREATED = 1741569952

STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 408: "DEADLINE_EXCEEDED", 409: "ABORTED",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
    503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
OPENAI_TYPES = {
    400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


# ---- JSON mode (document analysis) -------------------------------------------
# Added for the documents suite.  When a request asks for JSON output (OpenAI
# response_format json_object, Gemini responseMimeType application/json) and
# carries no [[json]] directive, the answer is a legal-analysis object derived
# from the last user message only: summary = its first words, keywords = its
# most frequent longer words, key_clauses = its lines that start with
# "Clause"/"Section"/"Article", risks = its sentences naming liability,
# termination, penalty or indemnity.  [[json]] keeps the generic echo object
# (which an analysis must reject as invalid).

ANALYSIS_CLAUSE_RE = re.compile(r"^\s*((?:clause|section|article)\s+[0-9][0-9.]*)\b(.*)$",
                                re.I | re.M)
ANALYSIS_RISK_RE = re.compile(r"[^.\n]*\b(liab|terminat|penalt|indemn)[^.\n]*", re.I)
ANALYSIS_WORD_RE = re.compile(r"[^\W\d_]{6,}", re.U)


def json_mode_answer(d, last_user, answer):
    if "json" in d:
        return answer
    text = strip_directives(last_user)
    counts = {}
    for w in ANALYSIS_WORD_RE.findall(text):
        counts[w.lower()] = counts.get(w.lower(), 0) + 1
    keywords = [w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:5]]
    clauses = [{"title": m.group(1).strip(), "text": m.group(2).strip(" :-")[:200],
                "reference": m.group(1).strip()} for m in ANALYSIS_CLAUSE_RE.finditer(text)][:10]
    risks = [{"title": m.group(1).lower(), "severity": "medium",
              "description": m.group(0).strip()[:200]}
             for m in ANALYSIS_RISK_RE.finditer(text)][:10]
    lower = text.lower()
    category = "lease" if ("lease" in lower or "tenant" in lower) else "contract"
    return json.dumps({
        "summary": "Stand-in summary: " + " ".join(text.split()[:30]),
        "document_category": category,
        "jurisdiction": "Germany" if "gmbh" in lower else None,
        "practice_area": "real_estate" if category == "lease" else "commercial",
        "keywords": keywords, "key_clauses": clauses, "risks": risks,
    }, separators=(",", ":"))


class State:
    """What the stand-in remembers: recorded requests and failure counters."""

    def __init__(self, openai_key, gemini_key):
        self.openai_key = openai_key
        self.gemini_key = gemini_key
        self.lock = threading.Lock()
        self.requests = []
        self.seq = 0
        self.fail_counts = {}

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.requests.append(entry)
            if len(self.requests) > MAX_RECORDED:
                del self.requests[0:len(self.requests) - MAX_RECORDED]

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def reset(self):
        with self.lock:
            self.requests = []
            self.fail_counts = {}

    def count_failure(self, key, limit):
        """True while this message has failed fewer than `limit` times."""
        with self.lock:
            n = self.fail_counts.get(key, 0)
            if n >= limit:
                return False
            self.fail_counts[key] = n + 1
            return True


def parse_directives(text):
    d = {}
    for block in DIRECTIVE_RE.findall(text or ""):
        for tok in block.split():
            name, _, value = tok.partition(":")
            d[name.strip().lower()] = value.strip()
    return d


def strip_directives(text):
    return DIRECTIVE_RE.sub("", text or "").strip()


def words(text):
    return len((text or "").split())


def int_or(v, default):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llm-standin/1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        n = int_or(self.headers.get("Content-Length"), 0)
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    def send_json(self, status, obj, extra=None):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def send_raw(self, status, raw, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def drop(self, status, raw, ctype="application/json"):
        """Promise the whole body, send half of it, cut the connection."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw[: max(1, len(raw) // 2)])
        self.hard_close()

    def hard_close(self):
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # ---- routing --------------------------------------------------------

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__requests":
            self.send_json(200, self.server.state.snapshot())
        elif path == "/__health":
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error",
                                           "param": None, "code": None}})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = self.read_body()
        if body is None:
            self.send_json(413, {"error": {"message": "request too large"}})
            self.close_connection = True
            return
        if url.path == "/__reset":
            self.server.state.reset()
            self.send_json(200, {"ok": True})
            return
        m = GEMINI_PATH_RE.match(url.path)
        if url.path == "/v1/chat/completions":
            provider = "openai"
        elif m:
            provider = "gemini"
        else:
            provider = None
        key_ok = self.check_key(provider, query)
        try:
            parsed = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            parsed = None
        headers = {}
        for k, v in self.headers.items():
            if k.lower() in ("authorization", "x-goog-api-key"):
                v = "[redacted]"
            headers[k] = v
        self.server.state.record({
            "time": time.time(), "method": "POST", "path": url.path,
            "query": url.query, "provider": provider, "key_ok": key_ok,
            "headers": headers,
            "body": parsed if parsed is not None else body.decode("utf-8", "replace"),
        })
        if provider is None:
            self.send_json(404, {"error": {"message": "Unknown path %s" % url.path,
                                           "type": "invalid_request_error",
                                           "param": None, "code": "unknown_url"}})
        elif provider == "openai":
            self.openai(parsed, key_ok)
        else:
            stream = m.group(2) == "streamGenerateContent"
            sse = query.get("alt", [""])[0] == "sse"
            self.gemini(m.group(1), parsed, key_ok, stream, sse)

    def check_key(self, provider, query):
        st = self.server.state
        if provider == "openai":
            if not st.openai_key:
                return True
            return self.headers.get("Authorization", "") == "Bearer " + st.openai_key
        if provider == "gemini":
            if not st.gemini_key:
                return True
            got = self.headers.get("x-goog-api-key") or query.get("key", [None])[0]
            return got == st.gemini_key
        return False

    # ---- shared behaviour -------------------------------------------------

    def plan(self, provider, last_user, nmsgs):
        """Directives of the last user message -> what to do."""
        d = parse_directives(last_user)
        if "when" in d:
            first = strip_directives(last_user).split("\n", 1)[0]
            if d["when"] not in first:
                d = {}
        delay = min(max(int_or(d.get("delay"), 0), 0), MAX_DELAY_MS)
        if delay and "delay-times" in d and not self.server.state.count_failure(
                ("delay", provider, last_user), int_or(d["delay-times"], 0)):
            delay = 0
        if delay:
            time.sleep(delay / 1000.0)
        fail = None
        if "quota" in d:
            fail = ("quota", 429)
        elif "status" in d:
            status = int_or(d.get("status"), 500)
            times = d.get("fail-times")
            if times is None or self.server.state.count_failure(
                    (provider, last_user), int_or(times, 0)):
                fail = ("status", status)
        text = strip_directives(last_user)[:ECHO_CHARS]
        if "json" in d:
            answer = json.dumps({"echo": text, "messages": nmsgs}, separators=(",", ":"))
        else:
            answer = "Echo: %s (%d messages)" % (text, nmsgs)
        return d, fail, answer

    # ---- OpenAI ----------------------------------------------------------

    def openai_error(self, status, message, etype, code, extra=None):
        self.send_json(status, {"error": {"message": message, "type": etype,
                                          "param": None, "code": code}}, extra)

    def openai(self, req, key_ok):
        if not key_ok:
            self.openai_error(401, "Incorrect API key provided. You can find your API key at "
                              "https://platform.openai.com/account/api-keys.",
                              "invalid_request_error", "invalid_api_key")
            return
        if (not isinstance(req, dict) or not isinstance(req.get("model"), str)
                or not isinstance(req.get("messages"), list) or not req["messages"]):
            self.openai_error(400, "We could not parse the JSON body of your request, or "
                              "'model'/'messages' is missing.", "invalid_request_error", None)
            return
        msgs = req["messages"]
        texts = [m.get("content") if isinstance(m, dict) and isinstance(m.get("content"), str)
                 else "" for m in msgs]
        last_user = ""
        for m, t in zip(msgs, texts):
            if isinstance(m, dict) and m.get("role") == "user":
                last_user = t
        d, fail, answer = self.plan("openai", last_user, len(msgs))
        rf = req.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_object":
            answer = json_mode_answer(d, last_user, answer)
        if fail:
            kind, status = fail
            if kind == "quota":
                self.openai_error(429, "You exceeded your current quota, please check your plan "
                                  "and billing details.", "insufficient_quota",
                                  "insufficient_quota")
            else:
                etype, code = OPENAI_TYPES.get(status, ("server_error", None))
                extra = {"Retry-After": d["retry-after"]} if "retry-after" in d else None
                self.openai_error(status, "Stand-in failure %d" % status, etype, code, extra)
            return
        model = req["model"]
        prompt = sum(words(t) for t in texts)
        completion = words(answer)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion}
        cid = "chatcmpl-standin-%d" % self.server.state.seq
        if req.get("stream"):
            opts = req.get("stream_options")
            with_usage = isinstance(opts, dict) and opts.get("include_usage") is True
            self.openai_stream(cid, model, answer, usage if with_usage else None, d)
            return
        resp = {"id": cid, "object": "chat.completion", "created": CREATED, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer,
                                                     "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": usage, "system_fingerprint": "fp_standin"}
        if "malformed" in d:
            self.send_raw(200, b'{"id": "chatcmpl-broken", "choices": [{"message": ')
        elif "drop" in d:
            self.drop(200, json.dumps(resp).encode())
        else:
            self.send_json(200, resp)

    def openai_stream(self, cid, model, answer, usage, d):
        def event(choices, u=None):
            o = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                 "model": model, "system_fingerprint": "fp_standin", "choices": choices}
            if usage is not None:
                o["usage"] = u
            return "data: %s\n\n" % json.dumps(o, separators=(",", ":"))

        def choice(delta, finish=None):
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        self.start_stream()
        self.chunk(event(choice({"role": "assistant", "content": ""})))
        pieces = split_pieces(answer)
        for i, p in enumerate(pieces):
            if "drop" in d and i >= max(1, len(pieces) // 2):
                self.hard_close()
                return
            if "malformed" in d and i == 1:
                self.chunk("data: {\"choices\": [{\"delta\": \n\n")
            self.chunk(event(choice({"content": p})))
        self.chunk(event(choice({}, "stop")))
        if usage is not None:
            self.chunk(event([], usage))
        self.chunk("data: [DONE]\n\n")
        self.end_stream()

    # ---- Gemini ----------------------------------------------------------

    def gemini_error(self, code, message, details=None):
        err = {"code": code, "message": message,
               "status": STATUS_NAMES.get(code, "UNKNOWN")}
        if details:
            err["details"] = details
        self.send_json(code, {"error": err})

    def gemini(self, model, req, key_ok, stream, sse):
        if not key_ok:
            if self.headers.get("x-goog-api-key") is None:
                self.gemini_error(403, "Method doesn't allow unregistered callers (callers "
                                  "without established identity). Please use API Key or "
                                  "other form of API consumer identity to call this API.")
            else:
                self.gemini_error(400, "API key not valid. Please pass a valid API key.", [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                     "metadata": {"service": "generativelanguage.googleapis.com"}}])
            return
        if (not isinstance(req, dict) or not isinstance(req.get("contents"), list)
                or not req["contents"]):
            self.gemini_error(400, "* GenerateContentRequest.contents: contents is not "
                              "specified")
            return
        texts, last_user = [], ""
        for c in req["contents"]:
            parts = c.get("parts") if isinstance(c, dict) else None
            t = "\n".join(p.get("text", "") for p in (parts or [])
                          if isinstance(p, dict) and isinstance(p.get("text"), str))
            texts.append(t)
            if isinstance(c, dict) and c.get("role", "user") == "user":
                # The codec merges consecutive user turns: the newest is the last part.
                ps = [p.get("text", "") for p in (parts or []) if isinstance(p, dict)]
                last_user = ps[-1] if ps else ""
        si = req.get("systemInstruction")
        if isinstance(si, dict):
            for p in si.get("parts") or []:
                if isinstance(p, dict) and isinstance(p.get("text"), str):
                    texts.append(p["text"])
        d, fail, answer = self.plan("gemini", last_user, len(req["contents"]))
        gc = req.get("generationConfig")
        if isinstance(gc, dict) and gc.get("responseMimeType") == "application/json":
            answer = json_mode_answer(d, last_user, answer)
        if fail:
            kind, status = fail
            if kind == "quota":
                self.gemini_error(429, "You exceeded your current quota, please check your "
                                  "plan and billing details.", [
                                      {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                       "violations": [{
                                           "quotaMetric": "generativelanguage.googleapis.com/"
                                                          "generate_content_free_tier_requests",
                                           "quotaId": "GenerateRequestsPerDayPerProjectPerModel"
                                                      "-FreeTier",
                                           "quotaDimensions": {"location": "global",
                                                               "model": model},
                                           "quotaValue": "200"}]}])
            else:
                details = None
                if "retry-after" in d:
                    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                "retryDelay": "%ss" % d["retry-after"]}]
                self.gemini_error(status, "Stand-in failure %d" % status, details)
            return
        prompt = sum(words(t) for t in texts)
        completion = words(answer)
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": completion,
                 "totalTokenCount": prompt + completion}
        rid = "standin-%d" % self.server.state.seq
        if stream:
            self.gemini_stream(model, rid, answer, usage, d, sse)
            return
        resp = gemini_response([answer], "STOP", usage, model, rid)
        if "malformed" in d:
            self.send_raw(200, b'{"candidates": [{"content": {"parts": [{"text": ')
        elif "drop" in d:
            self.drop(200, json.dumps(resp).encode())
        else:
            self.send_json(200, resp)

    def gemini_stream(self, model, rid, answer, usage, d, sse):
        pieces = split_pieces(answer)
        partial = {"promptTokenCount": usage["promptTokenCount"],
                   "totalTokenCount": usage["promptTokenCount"]}
        events = []
        for i, p in enumerate(pieces):
            last = i == len(pieces) - 1
            events.append(gemini_response([p], "STOP" if last else None,
                                          usage if last else partial, model, rid))
        if not sse:
            # Without alt=sse Gemini streams one JSON array.
            raw = json.dumps(events).encode()
            if "drop" in d:
                self.drop(200, raw)
            else:
                self.send_raw(200, raw)
            return
        self.start_stream()
        for i, e in enumerate(events):
            if "drop" in d and i >= max(1, len(events) // 2):
                self.hard_close()
                return
            if "malformed" in d and i == 1:
                self.chunk("data: {\"candidates\": [\r\n\r\n")
            self.chunk("data: %s\r\n\r\n" % json.dumps(e, separators=(",", ":")))
        self.end_stream()


def gemini_response(texts, finish, usage, model, rid):
    cand = {"content": {"parts": [{"text": t} for t in texts], "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand], "usageMetadata": usage, "modelVersion": model,
            "responseId": rid}


def split_pieces(text):
    """Word-sized pieces that join back to exactly text."""
    pieces = re.findall(r"\S+\s*|\s+", text)
    return pieces or [""]


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--openai-key", default="sk-standin")
    ap.add_argument("--gemini-key", default="standin-gemini-key")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args.openai_key, args.gemini_key)
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
