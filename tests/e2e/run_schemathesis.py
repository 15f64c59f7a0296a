#!/usr/bin/python3
"""run_schemathesis: schemathesis (PyPI, pinned, installed once into a cached venv) against
each service's own GET /openapi.json on the running stack: every check it has, a bounded
number of examples per operation, a fixed seed (a failure reproduces), and the stateful
phase, which follows the responses' links (create client -> account -> transfer).
  run_schemathesis.py http://127.0.0.1:8080 http://127.0.0.1:3003
Exit 0 only when it reports no failure on either service.
"""
import os
import subprocess
import sys
import tempfile

VERSION = "4.32.5"
CACHE = os.environ.get("WALLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "wallet-eda")
VENV = os.path.join(CACHE, f"venv-schemathesis-{VERSION}")
ST = os.path.join(VENV, "bin", "schemathesis")
CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml")
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "30")

if not os.path.exists(ST):
    subprocess.run(["/usr/bin/python3", "-m", "venv", VENV], check=True)
    subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", f"schemathesis=={VERSION}"],
                   check=True)

rc = 0
# schemathesis keeps a crash cache in its working directory: not in the checkout.
work = tempfile.TemporaryDirectory(prefix="schemathesis-")
for base in sys.argv[1:]:
    print(f"== schemathesis {VERSION} against {base}/openapi.json", flush=True)
    r = subprocess.run([ST, "--config-file", CONFIG, "run", f"{base}/openapi.json", "--url", base, "--checks", "all",
                        "--max-examples", EXAMPLES, "--seed", "20261203", "--workers", "1",
                        "--request-timeout", "10", "--no-color",
                        "--phases", "examples,coverage,fuzzing,stateful"],
                       env=dict(os.environ, SCHEMATHESIS_HOOKS=""), cwd=work.name, timeout=300)
    rc |= r.returncode
sys.exit(1 if rc else 0)
