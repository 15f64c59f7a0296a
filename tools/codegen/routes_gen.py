#!/usr/bin/python3
"""routes_gen: a service's C route table from the google.api.http options of its protos.

The protos are the one source of the HTTP mapping (as in grpc-gateway projects); protoc-c
ignores custom options, so this reads them from `protoc-c --descriptor_set_out
--include_imports` and writes the table the C gateway serves. What the mapping cannot say
comes from the same OpenAPI configuration protoc-gen-openapiv2 reads, so it too is declared
once: the success status (the one 2xx response each method declares) and whether the
handler may block on the database (the `x-wallet-blocking` extension; such handlers run on
the server's workers, the others on its event loop).

Handlers are bound by name: rpc CreateClient -> <prefix>create_client. The build fails when
a method has no handler (the link fails) or a handler has no method (checked here, over
the handler sources given).

  routes_gen.py --descriptor-set FILE --service wallet.v1.WalletCore --config FILE.yaml \
      --table wallet --handler-prefix handlers_ --handler-sources a.c b.c \
      --out-c routes.c --out-h handlers.h --openapi api/openapi/wallet_core.swagger.json

Besides the rpcs, every service of ours serves GET /metrics (Prometheus text), GET
/openapi.json (the description given, embedded) and GET /docs (Swagger UI over it).
"""
import argparse
import os
import re
import sys

import yaml
from google.protobuf import descriptor_pb2

HTTP_RULE_FIELD = 72295728  # extend google.protobuf.MethodOptions { HttpRule http = 72295728; }
VERBS = {2: "GET", 3: "PUT", 4: "POST", 5: "DELETE", 6: "PATCH"}  # HttpRule's pattern oneof
HTTP_RULE_BODY, HTTP_RULE_ADDITIONAL = 7, 11


def fail(msg):
    sys.exit(f"routes_gen: {msg}")


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """(number, wire_type, value) of each field of a serialized message; value is bytes
    for length-delimited fields, an int otherwise."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            value, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wt == 1:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 5:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            fail(f"unsupported wire type {wt} in method options")
        yield num, wt, value


def http_rule(method):
    """(verb, path, body) of a method's google.api.http option, or None."""
    raw = method.options.SerializeToString()
    rules = [v for n, wt, v in fields(raw) if n == HTTP_RULE_FIELD and wt == 2]
    if not rules:
        return None
    verb = path = None
    body = ""
    for n, wt, v in fields(rules[-1]):
        if n in VERBS:
            verb, path = VERBS[n], v.decode()
        elif n == HTTP_RULE_BODY:
            body = v.decode()
        elif n == HTTP_RULE_ADDITIONAL:
            fail(f"{method.name}: additional_bindings are not supported by our gateway")
        elif n == 8:
            fail(f"{method.name}: custom verbs are not supported by our gateway")
    return verb, path, body


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def c_descriptor(full_name):
    """wallet.v1.CreateClientRequest -> wallet__v1__create_client_request__descriptor"""
    *pkg, msg = full_name.lstrip(".").split(".")
    return "__".join(pkg + [snake(msg)]) + "__descriptor"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--handler-prefix", required=True)
    ap.add_argument("--handler-sources", nargs="+", required=True)
    ap.add_argument("--out-c", required=True)
    ap.add_argument("--out-h", required=True)
    ap.add_argument("--openapi", required=True, help="the service's OpenAPI JSON, served at /openapi.json")
    a = ap.parse_args()

    with open(a.descriptor_set, "rb") as f:
        fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    messages, service, service_file = {}, None, None
    for fd in fds.file:
        for m in fd.message_type:
            messages[f".{fd.package}.{m.name}"] = (fd.name, m)
        for s in fd.service:
            if f"{fd.package}.{s.name}" == a.service:
                service, service_file = s, fd
    if service is None:
        fail(f"service {a.service} not in {a.descriptor_set}")

    with open(a.config) as f:
        config = yaml.safe_load(f) or {}
    options = {m["method"]: m.get("option", {})
               for m in config.get("openapiOptions", {}).get("method", [])}

    routes, seen = [], set()
    for m in service.method:
        full = f"{a.service}.{m.name}"
        rule = http_rule(m)
        if rule is None:
            fail(f"{full} has no google.api.http option")
        verb, path, body = rule
        if body not in ("", "*"):
            fail(f"{full}: body \"{body}\": only \"*\" (whole request) or none is supported")
        if verb in ("GET", "DELETE") and body:
            fail(f"{full}: {verb} with a body")
        req_file, req = messages[m.input_type]
        names = {f.name for f in req.field}
        for var in re.findall(r"\{([^}]*)\}", path):
            if var not in names:
                fail(f"{full}: path variable {{{var}}} is not a field of {m.input_type}")
        if (verb, path) in seen:
            fail(f"{full}: {verb} {path} is bound twice")
        seen.add((verb, path))
        opt = options.pop(full, None)
        if opt is None:
            fail(f"{full} has no entry in {a.config} (its success status is declared there)")
        ok = [int(k) for k in opt.get("responses", {}) if str(k).isdigit() and 200 <= int(k) < 300]
        if len(ok) != 1:
            fail(f"{full}: {a.config} must declare exactly one 2xx response, has {ok}")
        blocking = opt.get("extensions", {}).get("x-wallet-blocking")
        if not isinstance(blocking, bool):
            fail(f"{full}: {a.config} must set extensions x-wallet-blocking: true|false")
        routes.append(dict(full=full, verb=verb, path=path, req=m.input_type,
                           resp=m.output_type, handler=a.handler_prefix + snake(m.name),
                           status=ok[0], blocking=blocking,
                           files={req_file, messages[m.output_type][0]}))
    if options:
        fail(f"{a.config} configures methods {a.service} does not have: {sorted(options)}")

    bound = {r["handler"] for r in routes}
    sig = re.compile(r"^rpc_code\s+(" + re.escape(a.handler_prefix) + r"\w+)\s*\(\s*http_call\b",
                     re.M)
    for src in a.handler_sources:
        with open(src) as f:
            for name in sig.findall(f.read()):
                if name not in bound:
                    fail(f"{src}: handler {name} serves no method of {a.service}")

    headers = sorted({f.replace(".proto", ".pb-c.h") for r in routes for f in r["files"]})
    stem = a.out_h.rsplit("/", 1)[-1]
    guard = re.sub(r"\W", "_", stem).upper()
    with open(a.out_h, "w") as out:
        out.write(f"/* Generated by tools/codegen/routes_gen.py from {service_file.name}: do not edit.\n"
                  f" * The handlers of {a.service}, one per rpc. */\n"
                  f"#ifndef {guard}\n#define {guard}\n\n#include <stddef.h>\n\n"
                  "#include \"http_server.h\"\n\n")
        for r in routes:
            out.write(f"/* {r['verb']} {r['path']}: {r['full']} */\n"
                      f"rpc_code {r['handler']}(http_call *call, const ProtobufCMessage *request,\n"
                      f"    ProtobufCMessage *response, rpc_status *st);\n")
        out.write(f"\n/* Every route of {a.service}, plus GET /metrics. */\n"
                  f"extern const http_route {a.table}_routes[];\n"
                  f"extern const size_t {a.table}_routes_count;\n\n#endif\n")
    with open(a.out_c, "w") as out:
        out.write(f"/* Generated by tools/codegen/routes_gen.py from {service_file.name}: do not edit. */\n")
        out.write(f"#include \"{stem}\"\n\n#include \"docs_http.h\"\n#include \"metrics_http.h\"\n")
        for h in headers:
            out.write(f"#include \"{h}\"\n")
        sym = f"{a.table}_openapi_json"
        path = os.path.abspath(a.openapi).replace("\\", "\\\\").replace('"', '\\"')
        out.write(f"""
/* The OpenAPI description, embedded as committed (check/openapi_is_fresh keeps it equal
 * to what the protos make). */
__asm__(".section .rodata\\n.balign 16\\n{sym}:\\n.incbin \\"{path}\\"\\n{sym}_end:\\n.previous\\n");
extern const char {sym}[], {sym}_end[];
static void openapi_json(http_call *call, http_raw_response *out) {{
  (void)call;
  docs_http_bytes(out, "application/json", {sym}, (size_t)({sym}_end - {sym}));
}}
""")
        out.write(f"\nconst http_route {a.table}_routes[] = {{\n")
        for r in routes:
            out.write(f"    {{.method = \"{r['verb']}\", .pattern = \"{r['path']}\",\n"
                      f"     .request_type = &{c_descriptor(r['req'])},\n"
                      f"     .response_type = &{c_descriptor(r['resp'])},\n"
                      f"     .handler = {r['handler']}, .success_status = {r['status']},"
                      f" .blocking = {int(r['blocking'])}}},\n")
        # Prometheus text, outside the protobuf API: every service of ours serves it.
        for pattern, fn in (("/metrics", "metrics_http_handler"), ("/openapi.json", "openapi_json"),
                            ("/docs", "docs_http_page"), ("/docs/swagger-ui-bundle.js", "docs_http_bundle"),
                            ("/docs/swagger-ui.css", "docs_http_css")):
            out.write(f"    {{.method = \"GET\", .pattern = \"{pattern}\", .raw = {fn}}},\n")
        out.write("};\n\n")
        out.write(f"const size_t {a.table}_routes_count = sizeof {a.table}_routes / sizeof {a.table}_routes[0];\n")


if __name__ == "__main__":
    main()
