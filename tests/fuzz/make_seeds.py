#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into tests/fuzz/seeds/.

Every seed is written by this script (the LLM ones from the unit-test
fixtures of tests/unit/fixtures/llm); run it again after changing it:
    python3 tests/fuzz/make_seeds.py
"""
import base64, hashlib, hmac, io, json, os, sys, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds")
LLM = os.path.join(HERE, "..", "unit", "fixtures", "llm")
KEY = b"fuzz-secret-0123456789abcdef0123456789"  # as in fuzz_jwt.c


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def llm_file(name):
    with open(os.path.join(LLM, name), "rb") as f:
        return f.read()


def docx(xml):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", xml)
    return buf.getvalue()


W = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
     '<w:document xmlns:w="http://schemas.openxmlformats.org/'
     'wordprocessingml/2006/main"><w:body>%s</w:body></w:document>')
PARA = '<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>'
TABLE = ('<w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc>'
         '<w:tc><w:p><w:r><w:t>b</w:t><w:tab/><w:t>c</w:t></w:r></w:p>'
         '</w:tc></w:tr></w:tbl>')

# Bounded JSON bodies
put("jsonx", "todo", '{"title":"Read clause 7","done":false,"n":3,'
    '"e":"a","o":{"x":[1,2,{"y":null}]},"d":null}')
put("jsonx", "escapes", '{"title":"caf\\u00e9 \\ud83d\\ude00 \\"q\\"",'
    '"n":-5}')
put("jsonx", "deep", "{\"a\":" * 31 + "1" + "}" * 31)
put("jsonx", "numbers", '{"n":1e3,"m":-0.0,"k":9223372036854775807}')
put("jsonx", "empty", "{}")

# base64url
put("b64", "two", "AB")
put("b64", "three", "AAE")
put("b64", "block", b64u(bytes(range(48))))

# UTF-8
put("utf8", "mixed", "a\u00e9\u20ac\U0001F600".encode())
put("utf8", "edges", b"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
    b"\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf")
put("utf8", "bad", b"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82")

# JWT: mode byte, then header NUL payload (signed by the target) ...
hdr = json.dumps({"alg": "HS256", "typ": "JWT"}).encode()
claims = {"sub": "0b7c3e8e-1f4e-4b8a-9c1d-2e3f4a5b6c7d",
          "sid": "1b7c3e8e-1f4e-4b8a-9c1d-2e3f4a5b6c7d",
          "jti": "2b7c3e8e-1f4e-4b8a-9c1d-2e3f4a5b6c7d",
          "role": "user", "iat": 1699999000, "exp": 1700000900}
put("jwt", "signed", b"\x00" + hdr + b"\x00" + json.dumps(claims).encode())
put("jwt", "signed_admin", b"\x00" + hdr + b"\x00" +
    json.dumps(dict(claims, role="admin")).encode())
# ... or a whole token as sent.
tok = b64u(hdr) + b"." + b64u(json.dumps(claims).encode())
sig = b64u(hmac.new(KEY, tok, hashlib.sha256).digest())
put("jwt", "token", b"\x01" + tok + b"." + sig)
put("jwt", "none", b"\x01" + b64u(b'{"alg":"none"}') + b"." +
    b64u(json.dumps(claims).encode()) + b".")

# ... with a key id and the email-verified claim.
hdr_kid = json.dumps({"alg": "HS256", "typ": "JWT", "kid": "2027-01.a"}).encode()
put("jwt", "signed_kid_ev", b"\x00" + hdr_kid + b"\x00" +
    json.dumps(dict(claims, ev=True)).encode())

# Usernames
put("form", "login", "grant_type=password&username=ada%40example.test"
    "&password=S3cr%21t+x")
put("form", "empty_pairs", "&&a&=b&c=")
put("form", "bad_escape", "username=%zz&password=%4")
put("form", "utf8", "n=%C3%A9t%C3%A9&x=%E2%82%AC")
put("username", "ok", "Jean-Luc.m_2")
put("username", "reserved", "ADMIN")
put("username", "double_punct", "a..b")
put("username", "utf8", "caf\u00e9".encode())

# X-Forwarded-For: peer selector byte, then the header
put("backoff", "seconds", "Retry-After: 120\r\n")
put("backoff", "date", "retry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n")
put("backoff", "other", "Content-Type: application/json\r\n")
put("backoff", "blank", "Retry-After:   \t\r\n")
put("etag", "strong", '"e3b0c44298fc1c149afbf4c8996fb924"')
put("etag", "list", '"x", W/"e3b0c44298fc1c149afbf4c8996fb924" , "y"')
put("etag", "star", "*")
put("etag", "junk", 'W/"a b", *, "unterminated')
put("idlist", "two", '{"ids": ["123e4567-e89b-42d3-a456-426614174000", "00000000-0000-4000-8000-00000000000A"]}')
put("idlist", "bad", '{"ids": [1, "x", null, {"a": []}]}')
put("idlist", "empty", '{"ids": []}')
put("idlist", "wrong", '{"ids": "123e4567-e89b-42d3-a456-426614174000"}')
put("netaddr", "one", "\x00203.0.113.7")
put("netaddr", "chain", "\x00198.51.100.1, 10.0.0.5 ,127.0.0.2")
put("netaddr", "v6", "\x022001:db8::1, fd00::1")
put("netaddr", "junk", "\x00" + "x, " * 40 + "203.0.113.7")

# Upload: "filename\0content"
put("sniff", "pdf", b"C:\\Users\\a\\brief.pdf\x00%PDF-1.7\n%\xe2\xe3\n1 0 obj\n")
put("sniff", "txt", b"notes.txt\x00  Plain text, caf\xc3\xa9.\n")
put("sniff", "md", b"README.md\x00# Title\n\n- item\n")
put("sniff", "docx", b"contract.docx\x00" + docx(W % (PARA % "Hello")))
put("sniff", "mismatch", b"x.pdf\x00PK\x03\x04not really")

# Chunker: page byte, params byte, text
text = ("The parties agree as follows. " * 30 + "\n\n" +
        "Clause 7.3 requires thirty days' notice; caf\u00e9. " * 20)
put("chunk", "prose", b"\x03\x80" + text.encode())
put("chunk", "small", b"\x05\x11" + text[:300].encode())
put("chunk", "nospace", b"\x01\x80" + b"x" * 2500)

# SSE: the first byte picks the piece size
put("sse", "events", "\x07event: message\ndata: one\ndata: two\n\n"
    ": comment\nid: 3\nretry: 10\ndata:three\r\n\r\n")
put("sse", "bom", "\x00\ufeffdata: x\r\rdata: y\n\nevent: done\ndata\n\n")

# LLM codecs: mode byte (0 response, 1 stream, 2 error) then the body
for p in ("openai", "gemini"):
    for f in sorted(os.listdir(LLM)):
        if not f.startswith(p + "_"):
            continue
        b = llm_file(f)
        if f.endswith(".sse"):
            put("llm_" + p, f, b"\x05" + b)
        elif "_error_" in f:
            put("llm_" + p, f, b"\x16" + b)  # 429
            put("llm_" + p, f + ".503", b"\x1e" + b)
        else:
            put("llm_" + p, f, b"\x00" + b)
            put("llm_" + p, f + ".json_mode", b"\x80" + b)
put("llm_gemini", "duration", "D1.5s")

# DOCX: mode byte (1 archive, 0 the XML part alone)
body = (PARA % "Clause 7.3" + TABLE +
        '<w:p><w:r><w:t>x</w:t><w:br/><w:t>y</w:t></w:r></w:p>')
put("docx", "archive", b"\x01" + docx(W % body))
put("docx", "xml", b"\x00" + (W % body).encode())
put("docx", "strict", b"\x00" + (W % body).replace(
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main").encode())
put("docx", "doctype", b"\x00<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY"
    b" e \"e\">]><w:document/>")

# Workflow inputs against a template's schema (fuzz_jschema.c).
put("jschema", "valid", '{"template":"contract_review","input":'
    '{"contract_text":"Lease","party":"Tenant","risk_tolerance":"low",'
    '"document_ids":["0b0f3f8e-8d2e-4c39-9d7e-0a5b7b2f6c11"]}}')
put("jschema", "violations", '{"input":{"party":7,"risk_tolerance":"x",'
    '"pages":0,"parties":[{},{"name":""}],"document_ids":["a"]}}')
put("jschema", "schema", '{"schema":{"type":["object","null"],'
    '"required":["a"],"properties":{"a":{"type":"array","minItems":1,'
    '"items":{"enum":[1,"x",null]}}}},"input":{"a":[2,"x"]}}')
put("jschema", "deep", '{"input":{"parties":' + "[" * 30 + "]" * 30 + '}}')

# W3C traceparent, and text for span attributes
put("otel", "traceparent",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
put("otel", "later_version",
    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
put("otel", "text", "What is \"estoppel\"?\n\u00a7 7.3.2 \u2014 ok")

# hex digits and UUIDs (hex.c, uuid.c)
put("hex", "uuid", "123e4567-e89b-12d3-a456-42661417400f")
put("hex", "upper", "123E4567-E89B-12D3-A456-42661417400F")
put("hex", "bytea", "00ff7a10deadBEEF")
