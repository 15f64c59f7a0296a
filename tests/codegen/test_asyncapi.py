#!/usr/bin/python3
"""test_asyncapi: api/asyncapi/events.yaml is a valid AsyncAPI 3.0 document (checked by
@asyncapi/parser with its protobuf schema parser, pinned, installed from npm into the cache
once) and names exactly what the code does: the topics, the message types of
proto/wallet/v1/events.proto (each payload equal to its message there), the CloudEvents
headers wallet-core writes and the dlq_* headers balances adds.
  test_asyncapi.py SOURCE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = sys.argv[1]
DOC = os.path.join(ROOT, "api", "asyncapi", "events.yaml")
PACKAGES = ["@asyncapi/parser@3.6.6", "@asyncapi/protobuf-schema-parser@3.9.0"]
CACHE = os.environ.get("WALLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "wallet-eda")
MODULES = os.path.join(CACHE, "npm-asyncapi-parser-3.6.6")
VALIDATOR = os.path.join(ROOT, "tests", "codegen", "validate_asyncapi.cjs")
failures = []


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def ensure_parser():
    if os.path.isdir(os.path.join(MODULES, "node_modules", "@asyncapi", "protobuf-schema-parser")):
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("FAIL npm is missing (Debian package nodejs with npm)")
    os.makedirs(MODULES, exist_ok=True)
    # npm trusts only Node's built-in roots unless told: a registry reached through a
    # machine's own CA (as here) fails with SELF_SIGNED_CERT_IN_CHAIN. The system's bundle
    # is what curl, pip and git trust on Debian.
    env = dict(os.environ)
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if "NODE_EXTRA_CA_CERTS" not in env and os.path.exists(bundle):
        env["NODE_EXTRA_CA_CERTS"] = bundle
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", MODULES, *PACKAGES],
                   check=True, stdout=subprocess.DEVNULL, env=env)


def validate(path):
    env = dict(os.environ, NODE_PATH=os.path.join(MODULES, "node_modules"))
    return subprocess.run(["node", VALIDATOR, path], capture_output=True, text=True, env=env)


ensure_parser()
r = validate(DOC)
if r.returncode != 0:
    sys.exit(f"FAIL {DOC} does not validate:\n{r.stderr}")
summary = json.loads(r.stdout)
print("ok the document validates (AsyncAPI 3.0, protobuf payloads parsed)")

# The validator can fail: a dangling reference is refused.
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    f.write(read("api", "asyncapi", "events.yaml").replace("#/components/messages/AccountCreated",
                                                           "#/components/messages/AccountOpened", 1))
bad = validate(f.name)
os.unlink(f.name)
if bad.returncode == 0:
    failures.append("a document with a dangling $ref validated")

# Topics: what wallet-core publishes to and balances reads and dead-letters to.
m = re.search(r'events_default_topics = \{"([^"]+)", "([^"]+)"\}', read("wallet-core", "events.c"))
code_topics = {m.group(1), m.group(2)}
bmain = read("balances", "main.c")
code_topics |= set(re.findall(r'#define TOPIC_\w+ "([^"]+)"', bmain))
if set(summary["channels"]) != code_topics:
    failures.append(f"channels {sorted(summary['channels'])} != topics in the code {sorted(code_topics)}")

# Types: every message of events.proto, each once, on the channel its comment names.
events = read("proto", "wallet", "v1", "events.proto")
blocks = dict((n, b) for b, n in re.findall(r"((?:^//[^\n]*\n)*^message (\w+) \{.*?^\}\n)", events, re.M | re.S))
on_wire = {f"wallet.v1.{n}" for n in blocks}
documented = {t for ts in summary["channels"].values() for t in ts if t.startswith("wallet.v1.")}
if documented != on_wire:
    failures.append(f"event types {sorted(documented)} != messages of events.proto {sorted(on_wire)}")
for name, block in blocks.items():
    topic = re.search(r'^// Topic "([^"]+)"', block, re.M).group(1)
    if f"wallet.v1.{name}" not in summary["channels"].get(topic, []):
        failures.append(f"{name}: events.proto says topic {topic}, the document does not")

# Payloads: each embedded proto carries exactly its message from events.proto.
doc = read("api", "asyncapi", "events.yaml")
for name, block in blocks.items():
    indented = "\n".join(("            " + l) if l else "" for l in block.rstrip("\n").split("\n"))
    if indented not in doc:
        failures.append(f"the payload of {name} differs from its message in events.proto")
    if summary["payloads"].get(f"wallet.v1.{name}") != name:
        failures.append(f"{name}: parsed payload title {summary['payloads'].get(f'wallet.v1.{name}')}")

# Headers: the CloudEvents ones wallet-core writes, the dlq_* ones balances adds.
ce = set(re.findall(r'\{"((?:ce_|content-)[\w-]*)", ', read("runtime", "event_headers.c")))
dlq = set(re.findall(r'rd_kafka_header_add\(h, "(dlq_\w+)"', read("balances", "dead_letter.c")))
for t in on_wire:
    if set(summary["headers"].get(t, [])) != ce:
        failures.append(f"{t}: headers {summary['headers'].get(t)} != the code's {sorted(ce)}")
if set(summary["headers"].get("DeadLetter", [])) != dlq:
    failures.append(f"DeadLetter headers {summary['headers'].get('DeadLetter')} != the code's {sorted(dlq)}")

if failures:
    print("\n".join("FAIL " + x for x in failures))
    sys.exit(1)
print(f"ok {len(code_topics)} topics, {len(on_wire)} event types, {len(ce)} CloudEvents and {len(dlq)} dlq headers match the code")
