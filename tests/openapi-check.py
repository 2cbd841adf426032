#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Check api/openapi.yaml, and real daemon responses against it.

  openapi-check.py spec --spec api/openapi.yaml --routes FILE
      The spec itself: OpenAPI 3.1.0, every $ref resolves, every schema is
      a valid Draft 2020-12 schema (patterns compile), every example
      validates, path parameters are declared, and the route table and
      error registry equal FILE (the output of tests/api-routes: lines
      "route METHOD PATH" and "problem CODE STATUS").

  openapi-check.py responses --spec api/openapi.yaml --log FILE
      FILE has one JSON object per line: method, path (with query), status,
      content_type, headers (optional, lower-case names) and body (raw
      text).  Each response must be documented: path, method, status, media
      type, required headers, and the body must validate against its schema.

One line per failed check, then "RESULT: P passed, F failed"; exit 1 on any
failure (an unreadable or malformed input included), 2 on a usage error.
"""

import argparse
import hashlib
import json
import re
import sys
import urllib.parse

import jsonschema
import yaml

try:  # jsonschema >= 4.18 resolves $ref through the referencing library
    import referencing
    import referencing.jsonschema
except ImportError:  # jsonschema 4.10 (Debian 12)
    referencing = None

SPEC_URI = "urn:vpcid:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Validator = jsonschema.Draft202012Validator


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self):
        self.passed += 1

    def fail(self, msg):
        self.failed += 1
        print("FAIL: " + msg)

    def check(self, cond, msg):
        if cond:
            self.ok()
        else:
            self.fail(msg)
        return cond

    def finish(self):
        print("RESULT: %d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


# ------------------------------------------------------------------ JSON
def pointer_escape(seg):
    return str(seg).replace("~", "~0").replace("/", "~1")


def pointer_of(parts):
    return "/" + "/".join(pointer_escape(p) for p in parts) if parts else ""


def resolve_pointer(doc, pointer):
    """The node at a JSON pointer ("" or "/a/b"); KeyError if none."""
    node = doc
    if pointer == "":
        return node
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    for raw in pointer[1:].split("/"):
        seg = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not re.fullmatch(r"0|[1-9][0-9]*", seg) or int(seg) >= len(node):
                raise KeyError(pointer)
            node = node[int(seg)]
        elif isinstance(node, dict) and seg in node:
            node = node[seg]
        else:
            raise KeyError(pointer)
    return node


def resolve_ref(doc, ref):
    """Target of a local "#/..." reference; KeyError if it does not exist."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise KeyError(ref)
    return resolve_pointer(doc, urllib.parse.unquote(ref[1:]))


def deref(doc, node, parts):
    """Follow an OpenAPI Reference Object chain: (node, pointer parts)."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise KeyError("reference loop at " + ref)
        seen.add(ref)
        node = resolve_ref(doc, ref)
        ptr = urllib.parse.unquote(ref[1:])
        parts = [
            p.replace("~1", "/").replace("~0", "~") for p in ptr[1:].split("/")
        ] if ptr else []
    return node, parts


def no_dup_pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def load_json_strict(text):
    return json.loads(text, object_pairs_hook=no_dup_pairs)


class SchemaSet:
    """Validators for schemas at JSON pointers of the spec, resolving
    "#/components/..." against the whole document."""

    def __init__(self, spec):
        self.spec = spec
        self.cache = {}
        if referencing is not None:
            res = referencing.Resource.from_contents(
                spec, default_specification=referencing.jsonschema.DRAFT202012)
            self.registry = referencing.Registry().with_resource(SPEC_URI, res)
        else:
            self.resolver = jsonschema.RefResolver(SPEC_URI, spec)

    def validator(self, parts):
        ptr = pointer_of(parts)
        v = self.cache.get(ptr)
        if v is None:
            frag = urllib.parse.quote(ptr, safe="/~")
            wrapper = {"$ref": SPEC_URI + "#" + frag}
            if referencing is not None:
                v = Validator(wrapper, registry=self.registry)
            else:
                v = Validator(wrapper, resolver=self.resolver)
            self.cache[ptr] = v
        return v

    def errors(self, parts, instance):
        """Messages of the errors of instance against the schema at parts."""
        out = []
        try:
            errs = sorted(self.validator(parts).iter_errors(instance),
                          key=lambda e: [str(p) for p in e.absolute_path])
        except Exception as e:  # a broken schema: unknown type, bad regex...
            return ["schema %s cannot be applied: %s: %s"
                    % (pointer_of(parts), type(e).__name__,
                       str(e).split("\n")[0])]
        for e in errs:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            msg = e.message
            if len(msg) > 200:  # the instance is long: name the rule
                rule = json.dumps(e.validator_value)
                if len(rule) > 150:
                    rule = rule[:150] + "..."
                msg = "fails %s %s" % (e.validator, rule)
            out.append("at %s: %s" % (where, msg))
        return out


# ------------------------------------------------------------------ spec
# The structure of an OpenAPI 3.1 document: which fields each object has,
# which are required, and where a Reference Object may stand.  Schema
# Objects are checked on their own, against Draft 2020-12.
def _obj(props, required=(), **more):
    o = {"type": "object", "properties": props,
         "patternProperties": {"^x-": True}, "additionalProperties": False}
    if required:
        o["required"] = list(required)
    o.update(more)
    return o


def _ref(name):
    return {"$ref": "#/$defs/" + name}


def _or_ref(name):
    return {"if": {"type": "object", "required": ["$ref"]},
            "then": _ref("reference"), "else": _ref(name)}


def _map(value):
    return {"type": "object", "additionalProperties": value}


def _list(item):
    return {"type": "array", "items": item}


_S = {"type": "string"}
_B = {"type": "boolean"}
_SCHEMA = {"type": ["object", "boolean"]}
_COMPONENT = {"type": "object", "propertyNames": {"pattern": "^[a-zA-Z0-9._-]+$"}}
_EXAMPLES = {"example": True, "examples": _map(_or_ref("example"))}
OAS_STRUCTURE = {
    "$ref": "#/$defs/document",
    "$defs": {
        "document": _obj({
            "openapi": {"type": "string", "pattern": r"^3\.1\.[0-9]+$"},
            "info": _ref("info"), "jsonSchemaDialect": _S,
            "servers": _list(_ref("server")), "paths": _ref("paths"),
            "webhooks": _map(_or_ref("path-item")),
            "components": _ref("components"),
            "security": _list(_ref("security-requirement")),
            "tags": _list(_ref("tag")),
            "externalDocs": _ref("external-documentation"),
        }, ["openapi", "info"]),
        "info": _obj({
            "title": _S, "summary": _S, "description": _S,
            "termsOfService": _S, "contact": _ref("contact"),
            "license": _ref("license"), "version": _S,
        }, ["title", "version"]),
        "contact": _obj({"name": _S, "url": _S, "email": _S}),
        "license": _obj({"name": _S, "identifier": _S, "url": _S}, ["name"],
                        **{"not": {"required": ["identifier", "url"]}}),
        "server": _obj({"url": _S, "description": _S,
                        "variables": _map(_ref("server-variable"))}, ["url"]),
        "server-variable": _obj({
            "enum": dict(_list(_S), minItems=1), "default": _S,
            "description": _S}, ["default"]),
        "components": _obj({
            "schemas": dict(_COMPONENT, additionalProperties=_SCHEMA),
            "responses": dict(_COMPONENT,
                              additionalProperties=_or_ref("response")),
            "parameters": dict(_COMPONENT,
                               additionalProperties=_or_ref("parameter")),
            "examples": dict(_COMPONENT,
                             additionalProperties=_or_ref("example")),
            "requestBodies": dict(_COMPONENT,
                                  additionalProperties=_or_ref("request-body")),
            "headers": dict(_COMPONENT, additionalProperties=_or_ref("header")),
            "securitySchemes": dict(
                _COMPONENT, additionalProperties=_or_ref("security-scheme")),
            "links": dict(_COMPONENT, additionalProperties=_or_ref("link")),
            "callbacks": dict(_COMPONENT,
                              additionalProperties=_or_ref("callback")),
            "pathItems": dict(_COMPONENT,
                              additionalProperties=_or_ref("path-item")),
        }),
        "paths": {"type": "object",
                  "patternProperties": {"^/": _ref("path-item"), "^x-": True},
                  "additionalProperties": False},
        "path-item": _obj(dict({
            "$ref": _S, "summary": _S, "description": _S,
            "servers": _list(_ref("server")),
            "parameters": _list(_or_ref("parameter")),
        }, **{m: _ref("operation") for m in METHODS})),
        "operation": _obj({
            "tags": _list(_S), "summary": _S, "description": _S,
            "externalDocs": _ref("external-documentation"),
            "operationId": _S, "parameters": _list(_or_ref("parameter")),
            "requestBody": _or_ref("request-body"),
            "responses": _ref("responses"),
            "callbacks": _map(_or_ref("callback")), "deprecated": _B,
            "security": _list(_ref("security-requirement")),
            "servers": _list(_ref("server")),
        }),
        "external-documentation": _obj({"description": _S, "url": _S},
                                       ["url"]),
        "parameter": _obj(dict({
            "name": _S, "in": {"enum": ["query", "header", "path", "cookie"]},
            "description": _S, "required": _B, "deprecated": _B,
            "allowEmptyValue": _B, "style": _S, "explode": _B,
            "allowReserved": _B, "schema": _SCHEMA,
            "content": dict(_ref("content"), minProperties=1, maxProperties=1),
        }, **_EXAMPLES), ["name", "in"],
            oneOf=[{"required": ["schema"]}, {"required": ["content"]}],
            allOf=[{"if": {"properties": {"in": {"const": "path"}}},
                    "then": {"properties": {"required": {"const": True}},
                             "required": ["required"]}}]),
        "request-body": _obj({"description": _S, "content": _ref("content"),
                              "required": _B}, ["content"]),
        "content": _map(_ref("media-type")),
        "media-type": _obj(dict({"schema": _SCHEMA,
                                 "encoding": _map(_ref("encoding"))},
                                **_EXAMPLES)),
        "encoding": _obj({"contentType": _S,
                          "headers": _map(_or_ref("header")), "style": _S,
                          "explode": _B, "allowReserved": _B}),
        "responses": {"type": "object", "minProperties": 1,
                      "properties": {"default": _or_ref("response")},
                      "patternProperties": {
                          "^[1-5](?:[0-9]{2}|XX)$": _or_ref("response"),
                          "^x-": True},
                      "additionalProperties": False},
        "response": _obj({"description": _S,
                          "headers": _map(_or_ref("header")),
                          "content": _ref("content"),
                          "links": _map(_or_ref("link"))}, ["description"]),
        "header": _obj(dict({
            "description": _S, "required": _B, "deprecated": _B,
            "style": {"const": "simple"}, "explode": _B, "schema": _SCHEMA,
            "content": dict(_ref("content"), minProperties=1, maxProperties=1),
        }, **_EXAMPLES),
            oneOf=[{"required": ["schema"]}, {"required": ["content"]}]),
        "tag": _obj({"name": _S, "description": _S,
                     "externalDocs": _ref("external-documentation")},
                    ["name"]),
        "reference": {"type": "object", "required": ["$ref"],
                      "properties": {"$ref": _S, "summary": _S,
                                     "description": _S},
                      "additionalProperties": False},
        "security-scheme": _obj({
            "type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2",
                              "openIdConnect"]},
            "description": _S, "name": _S,
            "in": {"enum": ["query", "header", "cookie"]}, "scheme": _S,
            "bearerFormat": _S, "flows": {"type": "object"},
            "openIdConnectUrl": _S,
        }, ["type"], allOf=[
            {"if": {"properties": {"type": {"const": "http"}}},
             "then": {"required": ["scheme"]}},
            {"if": {"properties": {"type": {"const": "apiKey"}}},
             "then": {"required": ["name", "in"]}}]),
        "security-requirement": _map(_list(_S)),
        "example": _obj({"summary": _S, "description": _S, "value": True,
                         "externalValue": _S},
                        **{"not": {"required": ["value", "externalValue"]}}),
        "link": {"type": "object"},
        "callback": _map(_or_ref("path-item")),
    },
}


def operations(spec):
    """(METHOD, path, operation, path item) for every operation."""
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for m in METHODS:
            if m in item:
                yield m.upper(), path, item[m], item


def walk(node, parts, fn):
    """Call fn(node, parts) on every dict and list of the document, not
    descending into example values or enumerations."""
    fn(node, parts)
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("example", "const", "enum", "default"):
                continue
            if k == "examples" and isinstance(v, list):
                continue
            if k == "value" and parts and len(parts) >= 2 \
                    and parts[-2] == "examples":
                continue
            if isinstance(v, (dict, list)):
                walk(v, parts + [k], fn)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                walk(v, parts + [i], fn)


def schema_locations(spec):
    """Pointer parts of every top-level schema: components/schemas, and the
    schema of each parameter, header and media type."""
    locs = []
    for name in (spec.get("components", {}).get("schemas") or {}):
        locs.append(["components", "schemas", name])

    def visit(node, parts):
        if not isinstance(node, dict) or "schema" not in node:
            return
        if parts[:2] == ["components", "schemas"]:
            return  # a property named "schema" inside a schema
        if "$ref" in node["schema"] and len(node["schema"]) == 1:
            return  # checked where it points
        locs.append(parts + ["schema"])

    walk(spec, [], visit)
    return locs


def problem_codes_of(spec, schema, parts, depth=0):
    """Codes a Problem response schema allows (via allOf ... code
    const/enum), or None if it does not restrict them."""
    if depth > 8 or not isinstance(schema, dict):
        return None
    schema, parts = deref(spec, schema, parts)
    found = None
    code = (schema.get("properties") or {}).get("code")
    if isinstance(code, dict):
        if "const" in code:
            found = {code["const"]}
        elif "enum" in code:
            found = set(code["enum"])
    for i, sub in enumerate(schema.get("allOf") or []):
        c = problem_codes_of(spec, sub, parts + ["allOf", i], depth + 1)
        if c is not None:
            found = c if found is None else found & c
    return found


def read_routes(path, rep):
    routes, problems = set(), {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        rep.fail("routes file %s: %s" % (path, e.strerror))
        return routes, problems
    for n, line in enumerate(lines, 1):
        w = line.split()
        if not w or line.startswith("#"):
            continue
        if len(w) == 3 and w[0] == "route":
            routes.add((w[1].upper(), w[2]))
        elif len(w) == 3 and w[0] == "problem" and w[2].isdigit():
            if w[1] in problems:
                rep.fail("%s:%d: problem %s listed twice" % (path, n, w[1]))
            problems[w[1]] = int(w[2])
        else:
            rep.fail("%s:%d: not a route or problem line: %r" % (path, n, line))
    rep.check(routes, "routes file %s lists no route" % path)
    rep.check(problems, "routes file %s lists no problem code" % path)
    return routes, problems


def check_spec(spec, routes_file, rep):
    schemas = SchemaSet(spec)

    # The document
    rep.check(spec.get("openapi") == "3.1.0",
              "openapi is %r, not \"3.1.0\"" % spec.get("openapi"))
    info = spec.get("info") or {}
    rep.check(isinstance(info.get("title"), str)
              and isinstance(info.get("version"), str),
              "info.title and info.version must be strings")
    rep.check(isinstance(spec.get("paths"), dict) and spec["paths"],
              "no paths")
    errs = sorted(Validator(OAS_STRUCTURE).iter_errors(spec),
                  key=lambda e: [str(p) for p in e.absolute_path])
    for e in errs:
        rep.fail("not OpenAPI 3.1 at %s: %s"
                 % (pointer_of(list(e.absolute_path)) or "/",
                    e.message if len(e.message) < 200 else e.validator))
    if not errs:
        rep.ok()
    sec = spec.get("components", {}).get("securitySchemes") or {}
    for req in spec.get("security") or []:
        for name in req if isinstance(req, dict) else []:
            rep.check(name in sec, "security requirement %s names no "
                      "security scheme" % name)

    # Every $ref resolves
    refs = []
    walk(spec, [], lambda n, p: refs.append((n["$ref"], p))
         if isinstance(n, dict) and isinstance(n.get("$ref"), str) else None)
    for ref, parts in refs:
        try:
            resolve_ref(spec, ref)
            rep.ok()
        except KeyError:
            rep.fail("$ref %s at %s does not resolve" % (ref, pointer_of(parts)))

    # Every schema is a valid Draft 2020-12 schema with compilable patterns
    for parts in schema_locations(spec):
        node = resolve_pointer(spec, pointer_of(parts))
        try:
            Validator.check_schema(node)
            rep.ok()
        except jsonschema.exceptions.SchemaError as e:
            rep.fail("schema %s is not valid Draft 2020-12: %s"
                     % (pointer_of(parts), e.message))

    def pattern_visit(node, parts):
        if isinstance(node, dict) and isinstance(node.get("pattern"), str) \
                and (not parts or parts[-1] != "properties"):
            try:
                re.compile(node["pattern"])
                rep.ok()
            except re.error as e:
                rep.fail("pattern at %s does not compile: %s"
                         % (pointer_of(parts), e))

    walk(spec, [], pattern_visit)

    # Every example validates against its schema
    def example_visit(node, parts):
        if not isinstance(node, dict):
            return
        if parts and parts[-1] in ("properties", "patternProperties", "$defs"):
            return
        if isinstance(node.get("examples"), list):
            for i, ex in enumerate(node["examples"]):
                errs = schemas.errors(parts, ex)
                rep.check(not errs, "example %s/examples/%d: %s"
                          % (pointer_of(parts), i, "; ".join(errs)))
        elif isinstance(node.get("examples"), dict) and "schema" in node:
            for k, ex in node["examples"].items():
                try:
                    ex, _ = deref(spec, ex, [])
                except KeyError:
                    continue  # reported as an unresolved $ref
                if not isinstance(ex, dict) or "value" not in ex:
                    continue
                errs = schemas.errors(parts + ["schema"], ex["value"])
                rep.check(not errs, "example %s/examples/%s: %s"
                          % (pointer_of(parts), k, "; ".join(errs)))
        if "example" in node:
            target = parts + ["schema"] if "schema" in node else parts
            errs = schemas.errors(target, node["example"])
            rep.check(not errs, "example %s/example: %s"
                      % (pointer_of(parts), "; ".join(errs)))

    walk(spec, [], example_visit)

    # Path parameters: declared, required, and used
    op_ids = set()
    for method, path, op, item in operations(spec):
        names = set(re.findall(r"\{([^}]+)\}", path))
        declared = set()
        for i, p in enumerate((item.get("parameters") or [])
                              + (op.get("parameters") or [])):
            try:
                p, _ = deref(spec, p, [])
            except KeyError:
                continue
            if p.get("in") == "path":
                declared.add(p.get("name"))
                rep.check(p.get("required") is True,
                          "%s %s: path parameter %s is not required: true"
                          % (method, path, p.get("name")))
        rep.check(names == declared,
                  "%s %s: path parameters %s, declared %s"
                  % (method, path, sorted(names), sorted(declared)))
        oid = op.get("operationId")
        rep.check(oid and oid not in op_ids,
                  "%s %s: operationId %r missing or not unique"
                  % (method, path, oid))
        op_ids.add(oid)
        rep.check(isinstance(op.get("responses"), dict) and op["responses"],
                  "%s %s: no responses" % (method, path))

    # Route table and error registry against the daemon's
    routes, problems = read_routes(routes_file, rep)
    spec_routes = {(m, p) for m, p, _, _ in operations(spec)}
    for m, p in sorted(routes - spec_routes):
        rep.fail("route %s %s of the daemon is not in the spec" % (m, p))
    for m, p in sorted(spec_routes - routes):
        rep.fail("route %s %s of the spec is not in the daemon" % (m, p))
    for _ in routes & spec_routes:
        rep.ok()

    registry = spec.get("x-problem-codes")
    if not rep.check(isinstance(registry, dict), "no x-problem-codes map"):
        registry = {}
    for code in sorted(set(problems) | set(registry)):
        if code not in registry:
            rep.fail("problem %s (%d) of the daemon is not in x-problem-codes"
                     % (code, problems[code]))
        elif code not in problems:
            rep.fail("problem %s of x-problem-codes is not in the daemon"
                     % code)
        else:
            rep.check(registry[code] == problems[code],
                      "problem %s: spec says %s, daemon %d"
                      % (code, registry[code], problems[code]))
    try:
        enum = spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    except (KeyError, TypeError):
        enum = []
        rep.fail("components/schemas/Problem has no code enum")
    rep.check(len(enum) == len(set(enum)), "Problem code enum has duplicates")
    rep.check(set(enum) == set(problems),
              "Problem code enum differs from the daemon's registry: "
              "only in spec %s, only in daemon %s"
              % (sorted(set(enum) - set(problems)),
                 sorted(set(problems) - set(enum))))

    # Every problem response names codes whose registry status is its own,
    # and every code is used by some response.
    used = set()

    def response_sets():
        for method, path, op, _ in operations(spec):
            yield "%s %s" % (method, path), op.get("responses") or {}
        for ext in ("x-unmatched-path-responses", "x-unmatched-method-responses"):
            yield ext, spec.get(ext) or {}

    for where, responses in response_sets():
        for status, resp in responses.items():
            try:
                resp, rparts = deref(spec, resp, [])
            except KeyError:
                continue
            media = (resp.get("content") or {}).get("application/problem+json")
            if not media:
                continue
            rparts = rparts + ["content", "application/problem+json", "schema"]
            codes = problem_codes_of(spec, media.get("schema"), rparts)
            if not rep.check(codes, "%s %s: problem response allows every "
                             "code; name them" % (where, status)):
                continue
            used |= codes
            for c in sorted(codes):
                rep.check(str(registry.get(c)) == str(status),
                          "%s %s: code %s has status %s in x-problem-codes"
                          % (where, status, c, registry.get(c)))
    for c in sorted(set(registry) - used):
        rep.fail("problem code %s is used by no response" % c)


# ------------------------------------------------------------------ responses
def split_segments(path):
    return path.split("/")[1:] if path.startswith("/") else None


def match_path(spec, path):
    """(template, {param: decoded value}) for a request path, literal
    segments winning over parameters; (None, None) if none matches."""
    segs = split_segments(path)
    if segs is None:
        return None, None
    best = None
    for tmpl in (spec.get("paths") or {}):
        tsegs = split_segments(tmpl)
        if tsegs is None or len(tsegs) != len(segs):
            continue
        rank, params = [], {}
        for t, s in zip(tsegs, segs):
            dec = urllib.parse.unquote(s)
            m = re.fullmatch(r"\{([^}]+)\}", t)
            if m:
                if not s:
                    break
                params[m.group(1)] = dec
                rank.append(1)
            elif t == dec:
                rank.append(0)
            else:
                break
        else:
            if best is None or rank < best[0]:
                best = (rank, tmpl, params)
    return (best[1], best[2]) if best else (None, None)


def status_response(responses, status):
    for key in (str(status), "%dXX" % (status // 100), "default"):
        if key in responses:
            return key, responses[key]
    return None, None


def header_value(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def content_hash(text):
    """The content hash of layout text: a resolved layout's binding
    section (the last section) is not covered by it."""
    i = text.find("\nbinding\n")
    if i >= 0:
        text = text[:i].rstrip("\n") + "\n"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def check_record(spec, schemas, rec, titles, rep):
    method = str(rec.get("method", "")).upper()
    full = str(rec.get("path", ""))
    status = rec.get("status")
    ctype = rec.get("content_type") or ""
    headers = rec.get("headers")
    body = rec.get("body")
    if body is None:
        body = ""
    shown = full if len(full) <= 120 else full[:120] + "..."
    label = "%s %s %s" % (method, shown, status)
    fails = []

    def bad(msg):
        fails.append(msg)

    if not isinstance(status, int):
        rep.fail("%s: status is not an integer" % label)
        return
    path, _, query = full.partition("?")
    tmpl, params = match_path(spec, path)
    item = spec["paths"].get(tmpl) if tmpl else None
    op = item.get(method.lower()) if item and method.lower() in METHODS else None
    # HTTP answers HEAD wherever it answers GET: the same status and
    # headers, no body.  No reply to HEAD has a body.
    is_head = method == "HEAD"
    head = is_head and op is None and item is not None and "get" in item
    if head:
        op = item["get"]
    if tmpl is None:
        responses, rbase = spec.get("x-unmatched-path-responses") or {}, \
            ["x-unmatched-path-responses"]
        where = "no path matches"
    elif op is None:
        responses, rbase = spec.get("x-unmatched-method-responses") or {}, \
            ["x-unmatched-method-responses"]
        where = "%s has no %s" % (tmpl, method)
    else:
        responses = op.get("responses") or {}
        rbase = ["paths", tmpl, "get" if head else method.lower(), "responses"]
        where = "%s %s" % (method, tmpl)

    key, resp = status_response(responses, status)
    if resp is None:
        rep.fail("%s: status %d not documented (%s)" % (label, status, where))
        return
    try:
        resp, rparts = deref(spec, resp, rbase + [key])
    except KeyError as e:
        rep.fail("%s: unresolved response %s" % (label, e))
        return

    # A 2xx answer means the request was valid: its path parameters and
    # query parameters must be ones the spec allows.
    if op is not None and 200 <= status < 300:
        declared = {}
        for base in (["paths", tmpl],
                     ["paths", tmpl, "get" if head else method.lower()]):
            plist = resolve_pointer(spec, pointer_of(base)).get("parameters")
            for i, p in enumerate(plist or []):
                p, pparts = deref(spec, p, base + ["parameters", i])
                declared[(p.get("in"), p.get("name"))] = pparts + ["schema"]
        for name, value in params.items():
            sp = declared.get(("path", name))
            if sp and schemas.errors(sp, value):
                bad("path parameter %s=%r breaks its schema yet the answer "
                    "is %d" % (name, value, status))
        for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            sp = declared.get(("query", name))
            if sp is None:
                bad("undocumented query parameter %r accepted" % name)
            elif schemas.errors(sp, value):
                bad("query parameter %s=%r breaks its schema yet was "
                    "accepted" % (name, value))

    # Media type and body
    content = resp.get("content") or {}
    mtype = ctype.split(";")[0].strip().lower()
    media = None
    if content and (mtype or not is_head):
        media = content.get(mtype)
        if media is None:
            bad("content type %r not documented (expected %s)"
                % (ctype, ", ".join(sorted(content))))
    if is_head:
        if body:
            bad("a HEAD reply has a body")
        media = None
    elif content:
        if not body.endswith("\n"):
            bad("body does not end with a newline")
    elif body:
        bad("body given where none is documented")

    doc = None
    if media is not None and "schema" in media:
        sparts = rparts + ["content", mtype, "schema"]
        if mtype == "application/json" or mtype.endswith("+json"):
            try:
                doc = load_json_strict(body)
            except ValueError as e:
                bad("body is not JSON: %s" % e)
            else:
                for e in schemas.errors(sparts, doc):
                    bad("body " + e)
        else:
            for e in schemas.errors(sparts, body):
                bad("body " + e)

    # Headers
    if isinstance(headers, dict):
        for hname, h in (resp.get("headers") or {}).items():
            try:
                h, hparts = deref(spec, h, rparts + ["headers", hname])
            except KeyError:
                continue
            v = header_value(headers, hname)
            if v is None:
                if h.get("required"):
                    bad("header %s missing" % hname)
                continue
            if "schema" in h:
                for e in schemas.errors(hparts + ["schema"], v):
                    bad("header %s %r: %s" % (hname, v, e))
        if status == 405 and item is not None:
            allow = header_value(headers, "allow")
            if allow is not None:
                got = sorted(m.strip().upper() for m in allow.split(",")
                             if m.strip())
                want = sorted(m.upper() for m in METHODS if m in item)
                if "get" in item and "head" not in item and "HEAD" in got:
                    want = sorted(want + ["HEAD"])  # HEAD goes with GET
                if got != want:
                    bad("Allow: %s, the path has %s" % (allow, ", ".join(want)))
        etag = header_value(headers, "etag")
        if etag is not None:
            if isinstance(doc, dict) and isinstance(doc.get("hash"), str) \
                    and etag != '"%s"' % doc["hash"]:
                bad("ETag %s is not the quoted hash %s" % (etag, doc["hash"]))
            if mtype == "text/x-vpci-layout" and status == 200 and not is_head:
                h = content_hash(body)
                if etag != '"%s"' % h:
                    bad("ETag %s is not the hash of the text (%s)" % (etag, h))
        loc = header_value(headers, "location")
        if loc is not None and isinstance(doc, dict) and "id" in doc:
            if loc != "/v1/attachments/%s" % doc.get("id"):
                bad("Location %s, the body is attachment %s"
                    % (loc, doc.get("id")))
        elif loc is not None and isinstance(doc, dict) and "version" in doc:
            want = "/v1/instance-types/%s/versions/%s" % (doc.get("name"),
                                                          doc.get("version"))
            if loc != want:
                bad("Location %s, the body is %s" % (loc, want))

    # Content hash of a version with its layout
    if isinstance(doc, dict) and isinstance(doc.get("layout"), str) \
            and isinstance(doc.get("hash"), str):
        h = content_hash(doc["layout"])
        if h != doc["hash"]:
            bad("hash %s is not the hash of layout (%s)" % (doc["hash"], h))

    # Problem details agree with the status, the registry and each other
    if mtype == "application/problem+json" and isinstance(doc, dict):
        registry = spec.get("x-problem-codes") or {}
        code = doc.get("code")
        if doc.get("status") != status:
            bad("problem status %r in a %d reply" % (doc.get("status"), status))
        if code in registry and registry[code] != status:
            bad("code %s has status %d in x-problem-codes"
                % (code, registry[code]))
        if doc.get("type") != "urn:vpcid:problem:%s" % code:
            bad("type %r does not name code %s" % (doc.get("type"), code))
        inst = doc.get("instance")
        if isinstance(inst, str) and status != 414 and \
                urllib.parse.unquote(inst) != urllib.parse.unquote(path):
            bad("instance %r is not the request path %r" % (inst, path))
        errs = doc.get("errors")
        if code == "invalid-layout" and isinstance(errs, list) and errs \
                and isinstance(errs[0], dict):
            e = errs[0]
            want = e.get("message")
            if e.get("line"):
                want = "%s:%s: %s" % (e.get("line"), e.get("col"), want)
            if doc.get("detail") != want:
                bad("detail %r is not the first error %r"
                    % (doc.get("detail"), want))
        if isinstance(code, str) and isinstance(doc.get("title"), str):
            first = titles.setdefault(code, doc["title"])
            if first != doc["title"]:
                bad("title %r for %s, earlier %r" % (doc["title"], code, first))

    if fails:
        for f in fails:
            rep.fail("%s: %s" % (label, f))
    else:
        rep.ok()


def check_responses(spec, log_file, rep):
    schemas = SchemaSet(spec)
    titles = {}
    try:
        with open(log_file, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        rep.fail("log %s: %s" % (log_file, e.strerror))
        return
    n = 0
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            rep.fail("%s:%d: not JSON: %s" % (log_file, i, e))
            continue
        if not isinstance(rec, dict):
            rep.fail("%s:%d: not a JSON object" % (log_file, i))
            continue
        n += 1
        check_record(spec, schemas, rec, titles, rep)
    if n == 0:
        rep.fail("log %s has no responses" % log_file)


# ------------------------------------------------------------------ main
class StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (plain YAML
    keeps the last one silently)."""


def _strict_mapping(loader, node):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("spec", help="check the spec and the route table")
    s.add_argument("--spec", required=True)
    s.add_argument("--routes", required=True)
    r = sub.add_parser("responses", help="check recorded responses")
    r.add_argument("--spec", required=True)
    r.add_argument("--log", required=True)
    args = ap.parse_args()

    rep = Report()
    try:
        with open(args.spec, encoding="utf-8") as f:
            spec = yaml.load(f, Loader=StrictLoader)
    except (OSError, yaml.YAMLError) as e:
        rep.fail("%s: %s" % (args.spec, " ".join(str(e).split())))
        return rep.finish()
    if not isinstance(spec, dict):
        rep.fail("%s: not a YAML mapping" % args.spec)
        return rep.finish()
    if args.mode == "spec":
        check_spec(spec, args.routes, rep)
    else:
        check_responses(spec, args.log, rep)
    return rep.finish()


if __name__ == "__main__":
    sys.exit(main())
