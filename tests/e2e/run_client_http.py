#!/usr/bin/env python3
"""run_client_http: runs every request of api/client.http in order and checks its status.

The file follows the VS Code REST Client conventions: requests separated by `###`,
`@name = value` file variables, `# @name req` to name a request, and
`{{req.response.body.$.field}}` (or `.headers.Name`) to reuse a value of an earlier answer.
Each request states the status it expects in a `# expect: 201` line; optional
`# expect-body: $.path == value` lines compare a field of the JSON answer (as text: JSON
strings bare, other values as JSON, so `$.stale == false` and `$.balance == 1000` work).

    tests/e2e/run_client_http.py [--file api/client.http] [--var wallet=http://...] [-v]

WALLET_URL and BALANCES_URL in the environment override @wallet and @balances.
Prints one line per request and `N passed, N failed`; exits 1 on any failure.
Python 3 standard library only.
"""
import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
VAR_DEF = re.compile(r"^@([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")
REF = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


class Request:
    def __init__(self, title, line):
        self.title = title
        self.line = line  # 1-based line of the request line, for messages
        self.name = None
        self.expect = None
        self.expect_body = []  # (path, expected text)
        self.method = None
        self.url = None
        self.headers = []  # (name, value), templates
        self.body = None


class ParseError(Exception):
    pass


def parse(text):
    """Returns (file variables {name: template}, [Request]). Raises ParseError."""
    variables = {}
    requests = []
    blocks = []  # (first line number, [lines])
    current, start = [], 1
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("###"):
            blocks.append((start, current, line[3:].strip()))
            current, start = [], no + 1
            continue
        current.append(line)
    blocks.append((start, current, ""))

    title = ""
    for start, lines, next_title in blocks:
        req = None
        state = "head"  # head -> headers -> body
        body = []
        for offset, line in enumerate(lines):
            no = start + offset
            stripped = line.strip()
            if state == "head":
                if not stripped:
                    continue
                m = VAR_DEF.match(stripped)
                if m:
                    variables[m.group(1)] = m.group(2)
                    continue
                if stripped.startswith("#") or stripped.startswith("//"):
                    note = stripped.lstrip("#/").strip()
                    if req is None:
                        req = Request(title, no)
                    if note.startswith("@name"):
                        req.name = note[len("@name"):].strip()
                    elif note.startswith("expect-body:"):
                        cond = note[len("expect-body:"):].strip()
                        if "==" not in cond:
                            raise ParseError(f"line {no}: expect-body needs 'path == value'")
                        path, want = (s.strip() for s in cond.split("==", 1))
                        req.expect_body.append((path, want))
                    elif note.startswith("expect:"):
                        try:
                            req.expect = int(note[len("expect:"):].strip())
                        except ValueError:
                            raise ParseError(f"line {no}: expect needs a status number")
                    continue
                parts = stripped.split()
                if parts[0] in METHODS and len(parts) >= 2:
                    if req is None:
                        req = Request(title, no)
                    req.line = no
                    req.method, req.url = parts[0], parts[1]
                    state = "headers"
                    continue
                raise ParseError(f"line {no}: expected a request line, got {stripped!r}")
            elif state == "headers":
                if not stripped:
                    state = "body"
                    continue
                if ":" not in stripped:
                    raise ParseError(f"line {no}: expected a header, got {stripped!r}")
                name, value = stripped.split(":", 1)
                req.headers.append((name.strip(), value.strip()))
            else:
                body.append(line)
        if req is not None and req.method is not None:
            text_body = "\n".join(body).strip()
            req.body = text_body if text_body else None
            requests.append(req)
        title = next_title
    return variables, requests


def json_path(value, path):
    """A JSONPath-lite lookup: $.a.b[0].c. Raises KeyError when absent."""
    if not path.startswith("$"):
        raise KeyError(path)
    for token in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path[1:]):
        key, index = token
        if key:
            if not isinstance(value, dict) or key not in value:
                raise KeyError(path)
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                raise KeyError(path)
            value = value[int(index)]
    return value


def as_text(value):
    return value if isinstance(value, str) else json.dumps(value)


class Runner:
    def __init__(self, variables, timeout):
        self.variables = variables
        self.responses = {}  # name -> {"status", "headers", "body"}
        self.timeout = timeout

    def resolve(self, template, depth=0):
        if depth > 10:
            raise KeyError("variables refer to each other in a loop")

        def one(m):
            ref = m.group(1)
            if ref in self.variables:
                return self.resolve(self.variables[ref], depth + 1)
            parts = ref.split(".", 3)
            if len(parts) >= 3 and parts[1] == "response":
                name = parts[0]
                if name not in self.responses:
                    raise KeyError(f"{{{{{ref}}}}}: request '{name}' has no answer yet")
                resp = self.responses[name]
                if parts[2] == "body" and len(parts) == 4:
                    try:
                        return as_text(json_path(resp["body"], parts[3]))
                    except (KeyError, TypeError):
                        raise KeyError(f"{{{{{ref}}}}}: no {parts[3]} in {name}'s answer")
                if parts[2] == "headers" and len(parts) == 4:
                    for k, v in resp["headers"].items():
                        if k.lower() == parts[3].lower():
                            return v
                    raise KeyError(f"{{{{{ref}}}}}: no header {parts[3]} in {name}'s answer")
            raise KeyError(f"{{{{{ref}}}}}: unknown variable")

        return REF.sub(one, template)

    def send(self, req):
        url = self.resolve(req.url)
        headers = {k: self.resolve(v) for k, v in req.headers}
        data = self.resolve(req.body).encode() if req.body is not None else None
        r = urllib.request.Request(url, data=data, method=req.method, headers=headers)
        try:
            with urllib.request.urlopen(r, timeout=self.timeout) as resp:
                status, rheaders, raw = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            status, rheaders, raw = e.code, dict(e.headers), e.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        return url, status, rheaders, body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", default=os.path.join(ROOT, "api", "client.http"))
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="override a file variable (repeatable)")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every answer body")
    args = ap.parse_args()

    with open(args.file, encoding="utf-8") as f:
        try:
            variables, requests = parse(f.read())
        except ParseError as e:
            print(f"{args.file}: {e}", file=sys.stderr)
            return 2
    for env, var in (("WALLET_URL", "wallet"), ("BALANCES_URL", "balances")):
        if os.environ.get(env):
            variables[var] = os.environ[env]
    for item in args.var:
        name, _, value = item.partition("=")
        variables[name] = value

    runner = Runner(variables, args.timeout)
    passed = failed = 0
    for i, req in enumerate(requests, 1):
        label = f"{i:2d}. {req.method} {req.url}"
        problems = []
        status = None
        body = None
        if req.expect is None:
            problems.append("no '# expect: <status>' line")
        try:
            label = f"{i:2d}. {req.method} {runner.resolve(req.url)}"
            url, status, headers, body = runner.send(req)
            if req.name:
                runner.responses[req.name] = {"status": status, "headers": headers, "body": body}
            if req.expect is not None and status != req.expect:
                problems.append(f"status {status}, expected {req.expect}")
            for path, want in req.expect_body:
                want = runner.resolve(want)
                try:
                    got = as_text(json_path(body, path))
                except (KeyError, TypeError):
                    problems.append(f"{path} missing, expected {want}")
                    continue
                if got != want:
                    problems.append(f"{path} = {got}, expected {want}")
        except KeyError as e:
            problems.append(str(e.args[0]))
        except (urllib.error.URLError, OSError) as e:
            problems.append(f"request failed: {e}")
        if problems:
            failed += 1
            print(f"FAIL {label}  [{req.title}]: {'; '.join(problems)}")
            if body is not None:
                print(f"     answer: {json.dumps(body)[:400]}")
        else:
            passed += 1
            print(f"ok   {label}  -> {status}")
            if args.verbose and body is not None:
                print(f"     answer: {json.dumps(body)[:400]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not requests else 0


if __name__ == "__main__":
    sys.exit(main())
