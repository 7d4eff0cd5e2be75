#!/usr/bin/env python3
"""kore.conf, the ROUTE labels of src/*.c and the OpenAPI document name
the same routes, methods and query parameters.

- every route of kore.conf (but the 404 catch-all) has its ROUTE in
  src/*.c, and every ROUTE is routed once;
- a ROUTE's label, with sample ids for its {parameters}, is served by its
  own route of kore.conf (the first that matches, as Kore picks);
- the labels are the OpenAPI document's paths, and a ROUTE's methods are
  its path's operations;
- the parameters a `params qs:get` block binds are the documented query
  parameters of that GET, those of a `params post` block are fields of
  the documented form, and every validator a block names is declared,
  used, defined (function validators) and explained (src/query.c).

  check_routes.py [OPENAPI_JSON]      (default build/openapi.json)
"""
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = "00000000-0000-4000-8000-000000000000"
errors = []


def err(msg):
    errors.append(msg)


def read_conf(path):
    """Routes [(pattern, handler)], params [(method, qs, path, [(name,
    validator)])] and validators {name: (type, arg)} of a kore.conf."""
    routes, params, validators = [], [], {}
    block = None
    for line in open(path, encoding="utf-8"):
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        if block is not None:
            if w[0] == "}":
                params.append(block)
                block = None
            elif w[0] == "validate" and len(w) == 3:
                block[3].append((w[1], w[2]))
            else:
                err("kore.conf: unexpected line in a params block: "
                    + line.strip())
        elif w[0] == "route" and len(w) == 3:
            routes.append((w[1], w[2]))
        elif w[0] == "params" and len(w) == 4 and w[3] == "{":
            m = w[1].lower()
            qs = m.startswith("qs:") or m == "get"
            block = (m.split(":")[-1], qs, w[2], [])
        elif w[0] == "validator" and len(w) >= 4:
            validators[w[1]] = (w[2], line.split(None, 3)[3].strip())
    return routes, params, validators


def read_routes(files):
    """{fn: (label, [methods])} of every ROUTE(fn, label, ...) use."""
    out = {}
    for f in files:
        src = open(f, encoding="utf-8").read()
        for m in re.finditer(r"^ROUTE\(\s*(\w+),\s*\"([^\"]*)\"", src,
                             re.M):
            depth, i = 1, src.index("(", m.start()) + 1
            while depth and i < len(src):
                depth += {"(": 1, ")": -1}.get(src[i], 0)
                i += 1
            methods = re.findall(r"HTTP_METHOD_(\w+)", src[m.start():i])
            if m.group(1) in out:
                err("%s: %s has two ROUTEs" % (f, m.group(1)))
            out[m.group(1)] = (m.group(2),
                               sorted(x.lower() for x in methods))
    return out


def served_by(routes, path):
    for pat, hdl in routes:
        if pat.startswith("/"):
            if pat == path:
                return hdl
        elif re.search(pat, path):
            return hdl
    return None


def query_params(doc, item, op):
    """The names of an operation's query parameters, $refs resolved."""
    names = set()
    for p in item.get("parameters", []) + op.get("parameters", []):
        if "$ref" in p:
            p = doc["components"]["parameters"][p["$ref"].split("/")[-1]]
        if p.get("in") == "query":
            names.add(p["name"])
    return names


def form_fields(doc, op):
    body = op.get("requestBody", {}).get("content", {})
    schema = body.get("multipart/form-data", {}).get("schema", {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return set(schema.get("properties", {}))


def main():
    spec = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(ROOT, "build", "openapi.json")
    if not os.path.exists(spec):
        print("check_routes: %s is missing (make build)" % spec)
        return 1
    doc = json.load(open(spec, encoding="utf-8"))
    paths = doc.get("paths", {})
    routes, params, validators = read_conf(os.path.join(ROOT, "kore.conf"))
    srcs = sorted(glob.glob(os.path.join(ROOT, "src", "*.c")))
    defs = read_routes(srcs)
    allsrc = "".join(open(f, encoding="utf-8").read() for f in srcs)
    query_c = open(os.path.join(ROOT, "src", "query.c"),
                   encoding="utf-8").read()
    label_of_pattern = {}

    # kore.conf routes and ROUTEs.
    handlers = [h for _, h in routes]
    for pat, hdl in routes:
        if hdl == "page_notfound":
            continue
        if hdl not in defs:
            err("kore.conf routes %s to %s, which no ROUTE defines"
                % (pat, hdl))
        elif handlers.count(hdl) > 1:
            err("kore.conf routes %s more than once" % hdl)
        else:
            label_of_pattern[pat] = defs[hdl][0]
    for fn, (label, methods) in sorted(defs.items()):
        if fn == "page_notfound":
            continue
        if fn not in handlers:
            err("ROUTE %s (%s) is not routed in kore.conf" % (fn, label))
            continue
        sample = re.sub(r"\{[^}]*\}", SAMPLE, label)
        got = served_by(routes, sample)
        if got != fn:
            err("%s (ROUTE %s) is served by %s in kore.conf"
                % (label, fn, got))
        # The OpenAPI document.
        if label not in paths:
            err("ROUTE %s: %s is not in the OpenAPI document" % (fn, label))
            continue
        ops = sorted(k for k in paths[label]
                     if k in ("get", "put", "post", "patch", "delete"))
        if ops != methods:
            err("%s: ROUTE %s answers %s, the OpenAPI document has %s"
                % (label, fn, "/".join(methods) or "-",
                   "/".join(ops) or "-"))
    labels = {d[0] for d in defs.values()}
    for p in sorted(paths):
        if p not in labels:
            err("the OpenAPI path %s has no ROUTE" % p)

    # params blocks, the documented query parameters and form fields.
    bound = {}
    used = set()
    for method, qs, pat, vals in params:
        label = label_of_pattern.get(pat)
        if label is None:
            err("kore.conf: params %s %s: no such route" % (method, pat))
            continue
        for name, v in vals:
            used.add(v)
            if v not in validators:
                err("kore.conf: %s %s binds %s to %s, not declared"
                    % (method, pat, name, v))
        names = {n for n, _ in vals}
        if len(names) != len(vals):
            err("kore.conf: params %s %s binds a name twice" % (method, pat))
        op = paths.get(label, {}).get(method)
        if op is None:
            err("kore.conf: params %s %s: %s %s is not documented"
                % (method, pat, method.upper(), label))
            continue
        if qs:
            bound[(label, method)] = names
            doc_names = query_params(doc, paths[label], op)
            for n in sorted(names - doc_names):
                err("%s %s: kore.conf binds ?%s, the OpenAPI document "
                    "lacks it" % (method.upper(), label, n))
            for n in sorted(doc_names - names):
                err("%s %s: the OpenAPI document has ?%s, no params block "
                    "of kore.conf binds it" % (method.upper(), label, n))
        else:
            for n in sorted(names - form_fields(doc, op)):
                err("%s %s: kore.conf binds form field %s, the OpenAPI "
                    "document lacks it" % (method.upper(), label, n))
    for label in sorted(paths):
        for method, op in paths[label].items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            q = query_params(doc, paths[label], op)
            if q and (label, method) not in bound:
                err("%s %s: the OpenAPI document has ?%s, no params block "
                    "of kore.conf binds them" % (method.upper(), label,
                                                 ", ?".join(sorted(q))))

    # Validators.
    for v, (kind, arg) in sorted(validators.items()):
        if v not in used:
            err("kore.conf: validator %s is bound by no params block" % v)
        if kind == "function" and not re.search(
                r"^(%s\(|Q_VALIDATOR\(%s\))" % (arg, arg), allsrc, re.M):
            err("kore.conf: validator %s: no function %s in src/" % (v, arg))
        if '{ "%s",' % v not in query_c:
            err("kore.conf: validator %s: src/query.c does not say what "
                "its refusal tells the client (q_rules)" % v)

    for e in errors:
        print("check_routes: " + e)
    if errors:
        return 1
    print("check_routes: kore.conf, %d ROUTEs and the OpenAPI document name "
          "the same routes; %d params blocks, %d validators"
          % (len(defs) - 1, len(params), len(validators)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
