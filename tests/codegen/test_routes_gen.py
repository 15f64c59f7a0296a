#!/usr/bin/python3
"""test_routes_gen: the route generator refuses every way the HTTP mapping can drift.

Runs tools/codegen/routes_gen.py on the build's real descriptor set and configuration, then
on copies broken one way each, and expects a build failure naming what is wrong.
  test_routes_gen.py SOURCE_DIR DESCRIPTOR_SET
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT, DESCRIPTORS = sys.argv[1], sys.argv[2]
GEN = os.path.join(ROOT, "tools", "codegen", "routes_gen.py")
CONFIG = os.path.join(ROOT, "proto", "wallet", "v1", "wallet_core.openapi.yaml")
HANDLERS = sorted(os.path.join(ROOT, "wallet-core", f) for f in os.listdir(os.path.join(ROOT, "wallet-core"))
                  if f.startswith("handlers_") and f.endswith(".c"))
failures = []


def run(tmp, config=CONFIG, sources=HANDLERS, service="wallet.v1.WalletCore"):
    return subprocess.run(
        [sys.executable, GEN, "--descriptor-set", DESCRIPTORS, "--service", service,
         "--config", config, "--table", "wallet", "--handler-prefix", "handlers_",
         "--handler-sources", *sources, "--out-c", os.path.join(tmp, "r.c"),
         "--out-h", os.path.join(tmp, "r.h"),
         "--openapi", os.path.join(ROOT, "api", "openapi", "wallet_core.swagger.json")], capture_output=True, text=True)


def expect(name, r, pattern):
    if r.returncode == 0 or not re.search(pattern, r.stderr):
        failures.append(f"{name}: exit {r.returncode}, stderr {r.stderr.strip()!r}, wanted /{pattern}/")
    else:
        print(f"ok {name}: {r.stderr.strip()}")


with tempfile.TemporaryDirectory() as tmp:
    r = run(tmp)
    if r.returncode != 0:
        failures.append(f"the real inputs fail: {r.stderr}")
    else:
        table = open(os.path.join(tmp, "r.c")).read()
        # What the C gateway serves is what the protos and the configuration say.
        for want in ('.method = "POST", .pattern = "/transactions"', 'handlers_create_transaction, .success_status = 201, .blocking = 0',
                     '.pattern = "/clients/{id}"', 'handlers_get_client, .success_status = 200, .blocking = 1',
                     '.pattern = "/metrics", .raw = metrics_http_handler',
                     '.pattern = "/openapi.json", .raw = openapi_json', '.pattern = "/docs", .raw = docs_http_page'):
            if want not in table:
                failures.append(f"generated table lacks {want!r}")
        print("ok real inputs")

    extra = os.path.join(tmp, "handlers_extra.c")
    with open(extra, "w") as f:
        f.write("rpc_code handlers_refund(http_call *call, const ProtobufCMessage *req,\n"
                "                         ProtobufCMessage *resp, rpc_status *st) { return 0; }\n")
    expect("handler without a method", run(tmp, sources=HANDLERS + [extra]),
           r"handlers_refund serves no method")

    text = open(CONFIG).read()
    def broken(name, new):
        path = os.path.join(tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(new)
        return path

    no_entry = re.sub(r"    - method: wallet\.v1\.WalletCore\.GetClient\n(      .*\n)+?(?=    - method)", "", text)
    expect("method without configuration", run(tmp, config=broken("noentry", no_entry)),
           r"GetClient has no entry")
    two_ok = text.replace('"201": {description: "Created", schema: {jsonSchema: {ref: ".wallet.v1.Client"}}}',
                          '"201": {description: "Created"}\n          "200": {description: "OK"}', 1)
    expect("two success statuses", run(tmp, config=broken("twook", two_ok)), r"exactly one 2xx")
    no_blocking = text.replace("extensions: {x-wallet-blocking: true}", "extensions: {}", 1)
    expect("blocking undeclared", run(tmp, config=broken("noblock", no_blocking)), r"x-wallet-blocking")
    ghost = text + "    - method: wallet.v1.WalletCore.Refund\n      option: {}\n"
    expect("configuration for a method that does not exist", run(tmp, config=broken("ghost", ghost)),
           r"does not have: \['wallet\.v1\.WalletCore\.Refund'\]")
    expect("unknown service", run(tmp, service="wallet.v1.Nope"), r"service wallet\.v1\.Nope not in")

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
