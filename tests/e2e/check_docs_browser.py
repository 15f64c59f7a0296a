#!/usr/bin/python3
"""check_docs_browser: each service's GET /docs, loaded in headless Chromium, lists every
route of its own GET /openapi.json (Swagger UI renders one operation per path and method).
  check_docs_browser.py http://127.0.0.1:8080 http://127.0.0.1:3003
"""
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

browser = shutil.which("chromium") or shutil.which("chromium-browser")
if browser is None:
    sys.exit("FAIL chromium is missing (Debian package chromium, in tools/deps/test.txt)")
failures = []
for base in sys.argv[1:]:
    with urllib.request.urlopen(base + "/openapi.json", timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        spec = json.load(r)
    if not ctype.startswith("application/json"):
        failures.append(f"{base}/openapi.json: Content-Type {ctype}")
    wanted = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    with tempfile.TemporaryDirectory() as profile:
        # --virtual-time-budget lets the page's scripts fetch and render before the dump.
        r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                            "--virtual-time-budget=20000", "--dump-dom", base + "/docs"],
                           capture_output=True, text=True, timeout=120)
    dom = r.stdout
    # <div class="opblock opblock-get" id="operations-WalletCore-WalletCore_GetClient">
    #   ... <span class="opblock-summary-method">GET</span> ... data-path="/clients/{id}"
    shown = set()
    for block in re.split(r'<div class="opblock opblock-', dom)[1:]:
        method = re.match(r"(\w+)", block).group(1).upper()
        path = re.search(r'data-path="([^"]+)"', block)
        if path:
            shown.add((method, path.group(1)))
    missing = wanted - shown
    if not dom.strip() or missing:
        failures.append(f"{base}/docs does not list {sorted(missing)} (Chromium exit {r.returncode}, "
                        f"{len(dom)} bytes of DOM)")
    else:
        print(f"ok {base}/docs lists all {len(wanted)} operations of its /openapi.json "
              f"({spec['info']['title']})")
if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
