#!/usr/bin/env python3
"""test_runner: run_client_http.py against a tiny local HTTP server, so the runner that
guards api/client.http is itself shown to catch a wrong status, a wrong field and a
chain to a missing value (and to pass a correct file). Standard library only."""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Idempotency-Key", "")
        self.answer(201, {"id": "item-" + body["name"], "key": key, "n": "7", "ok": False})

    def do_GET(self):
        if self.path.startswith("/items/item-"):
            self.answer(200, {"id": self.path.rsplit("/", 1)[1], "n": "7"})
        else:
            self.answer(404, {"code": 5, "message": "not found", "details": []})


GOOD = """@base = http://unset
### create
# @name made
# expect: 201
# expect-body: $.key == k-1
# expect-body: $.ok == false
POST {{base}}/items
Content-Type: application/json
Idempotency-Key: k-1

{"name": "a", "count": 3}

### read it back through the chain
# expect: 200
# expect-body: $.id == {{made.response.body.$.id}}
# expect-body: $.n == 7
GET {{base}}/items/{{made.response.body.$.id}}

### unknown
# expect: 404
GET {{base}}/nothing
"""

CASES = [
    ("correct file", GOOD, 0, "3 passed, 0 failed"),
    ("wrong status", GOOD.replace("# expect: 404", "# expect: 200"), 1, "status 404, expected 200"),
    ("wrong field", GOOD.replace("$.n == 7", "$.n == 8"), 1, "$.n = 7, expected 8"),
    ("chain to a missing field", GOOD.replace("$.id}}\n", "$.nope}}\n"), 1, "no $.nope in made's answer"),
    ("missing expect line", GOOD.replace("# expect: 404\n", ""), 1, "no '# expect: <status>' line"),
]


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    passed = failed = 0
    for name, text, want_rc, want_out in CASES:
        with tempfile.NamedTemporaryFile("w", suffix=".http", delete=False) as f:
            f.write(text)
        r = subprocess.run([sys.executable, os.path.join(HERE, "run_client_http.py"), "--file", f.name,
                            "--var", f"base={base}"], capture_output=True, text=True, timeout=60)
        os.unlink(f.name)
        ok = (r.returncode != 0) == (want_rc != 0) and want_out in r.stdout
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": rc={r.returncode}\n{r.stdout}{r.stderr}"))
        passed, failed = passed + ok, failed + (not ok)
    server.shutdown()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
