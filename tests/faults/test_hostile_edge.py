"""test_hostile_edge: issue 13, the HTTP edge against hostile and sloppy clients.

One test (or group) per numbered finding of issue 13, each bounded in time and loopback
only, on the session's private stack (conftest.py):
  1 slow clients (600 trickling connections) must not lock out /healthz on either service,
    and the trickling connections must be cut within the request-head deadline;
  2 conflicting Content-Length / TE+CL: 400 and close, no smuggled second response;
  3 repeated single headers (Idempotency-Key, Content-Type, Content-Length, Host): 400, no move;
  4 curl's default form content type (or none) is read as JSON; xml/multipart stay 415;
  5 every malformed request gets the grpc-gateway JSON error shape;
  6 HEAD on GET routes, Allow on 405, absolute-form request line;
  7 transfers_rejected_total counts pre-batcher rejections, events_dead_lettered_total is
    exported from the start, aborted connections do not each write a log line.
Tests that fail on the current code are marked xfail(strict=True) with the finding number
until the fix lands (strict: an unexpected pass fails, so the marks must be removed then)."""
import concurrent.futures
import json
import os
import re
import selectors
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests

A1 = "a1000000-0000-4000-8000-000000000001"
A2 = "a1000000-0000-4000-8000-000000000002"
HEAD_DEADLINE_S = 10  # README Limits: a whole request head within this, from its first byte
TRICKLE_CONNS = 600
TRICKLE_EVERY_S = 3.0
TRICKLE_SECONDS = 24
SERVICES = ("wallet-core", "balances")
NOT_FIXED = set(int(x) for x in os.environ.get("EDGE_NOT_FIXED", "").split(",") if x)


def finding(n):
    """xfail(strict) while finding n is listed in NOT_FIXED_DEFAULT (or EDGE_NOT_FIXED)."""
    return pytest.mark.xfail(n in NOT_FIXED_DEFAULT or n in NOT_FIXED, strict=True,
                             reason="issue 13 finding %d not fixed yet" % n)


NOT_FIXED_DEFAULT = set()  # every finding is fixed; EDGE_NOT_FIXED=5 shows a test failing


# ---- raw HTTP helpers

def read_responses(s, timeout=5.0):
    """Reads from S until the peer closes or TIMEOUT passes; returns the raw bytes."""
    s.settimeout(timeout)
    chunks = []
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            break
        if not c:
            break
        chunks.append(c)
    return b"".join(chunks)


def exchange(port, data, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_responses(s, timeout)
    finally:
        s.close()


def split_responses(raw):
    """Parses RAW into a list of (status, headers dict lower-case -> list, body)."""
    out = []
    while raw.startswith(b"HTTP/"):
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            hdrs.setdefault(k.strip().lower().decode(), []).append(v.strip().decode("latin-1"))
        n = int(hdrs.get("content-length", ["0"])[0])
        out.append((status, hdrs, rest[:n]))
        raw = rest[n:]
    return out


def assert_json_error(status, hdrs, body, want=None):
    if want is not None:
        assert status == want, (status, body[:200])
    assert 400 <= status < 600, status
    ctype = hdrs.get("content-type", [""])[0]
    assert ctype.startswith("application/json"), (status, ctype, body[:200])
    j = json.loads(body)
    assert isinstance(j.get("code"), int) and j["code"] > 0, j
    assert isinstance(j.get("message"), str), j
    assert isinstance(j.get("details"), list), j


def healthz_ms(port, timeout=1.0):
    """Latency of one GET /healthz on a fresh connection in ms, or None on timeout/error."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
            data = s.recv(64)
        finally:
            s.close()
    except OSError:
        return None
    if not data.startswith(b"HTTP/1.1 200"):
        return None
    return (time.monotonic() - t0) * 1000.0


def series_sum(metrics_text, name, label_filter=""):
    total, seen = 0.0, False
    for line in metrics_text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name and label_filter in (m.group(2) or ""):
            total += float(m.group(3))
            seen = True
    return total if seen else None


def tx_body(**kw):
    b = {"account_id_from": A1, "account_id_to": A2, "amount": 1}
    b.update(kw)
    return json.dumps(b).encode()


def balance_sum(stack):
    return int(stack.sql("wallet-db", "SELECT SUM(balance) FROM accounts")[0][0])


def tx_count(stack):
    return int(stack.sql("wallet-db", "SELECT COUNT(*) FROM transactions")[0][0])


# ---- 1: slow clients

class Trickler:
    """N connections to PORT, each sending one byte of a request head every EVERY_S
    seconds; records when the server closed each one (seconds after its first byte)."""

    HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"

    def __init__(self, port, n, every_s):
        self.port, self.n, self.every_s = port, n, every_s
        self.cut_after = []  # seconds from first byte to close, per cut connection
        self.opened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        sel = selectors.DefaultSelector()
        conns = []
        for _ in range(self.n):
            try:
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.port))
                conns.append([s, 0, None])  # socket, bytes sent, time of first byte
            except OSError:
                break
        self.opened = len(conns)
        for c in conns:
            sel.register(c[0], selectors.EVENT_READ, c)
        next_send = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_send:
                for c in conns:
                    if c[0] is None or c[1] >= len(self.HEAD) - 1:
                        continue
                    try:
                        if c[0].send(self.HEAD[c[1]:c[1] + 1]) == 1:
                            if c[2] is None:
                                c[2] = now
                            c[1] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._closed(sel, c, now)
                next_send = now + self.every_s
            for key, _ in sel.select(timeout=0.2):
                c = key.data
                try:
                    data = c[0].recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed (an answer such as a 408 before the close is fine)
                    self._closed(sel, c, time.monotonic())
        for c in conns:
            if c[0] is not None:
                c[0].close()
        sel.close()

    def _closed(self, sel, c, now):
        if c[0] is None:
            return
        sel.unregister(c[0])
        c[0].close()
        c[0] = None
        self.cut_after.append(now - (c[2] if c[2] is not None else now))


@finding(1)
def test_600_trickling_connections_do_not_lock_out_healthz(stack):
    """600 connections per service sending one header byte every 3 s for 24 s: meanwhile a
    normal client's /healthz answers within 1 s on both services every time, and each
    trickling connection is cut within HEAD_DEADLINE_S (+2 s slack) of its first byte."""
    tricklers = {name: Trickler(stack.ports[name], TRICKLE_CONNS, TRICKLE_EVERY_S) for name in SERVICES}
    for t in tricklers.values():
        t.thread.start()
    lat = {name: [] for name in SERVICES}
    t0 = time.monotonic()
    try:
        time.sleep(2)
        while time.monotonic() - t0 < TRICKLE_SECONDS:
            for name in SERVICES:
                lat[name].append(healthz_ms(stack.ports[name], timeout=1.0))
            time.sleep(0.5)
    finally:
        for t in tricklers.values():
            t.stop.set()
        for t in tricklers.values():
            t.thread.join(30)
    lines = []
    for name in SERVICES:
        ok = [x for x in lat[name] if x is not None]
        t = tricklers[name]
        lines.append("%s: healthz %d/%d within 1 s (max %.0f ms), trickling opened %d, cut %d "
                     "(latest cut %.1f s after first byte)" %
                     (name, len(ok), len(lat[name]), max(ok) if ok else -1, t.opened,
                      len(t.cut_after), max(t.cut_after) if t.cut_after else -1))
    report = "\n".join(lines)
    print("\n[slow clients] " + report)
    with open(os.path.join(stack.stack_dir, "edge-slow-clients.log"), "a") as f:
        f.write(time.strftime("%H:%M:%S ") + report + "\n")
    for name in SERVICES:
        assert all(x is not None for x in lat[name]), report
        t = tricklers[name]
        assert len(t.cut_after) >= t.opened * 0.95, report
        assert max(t.cut_after) <= HEAD_DEADLINE_S + 2, report


# ---- 2: framing

SMUGGLE = (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2\r\nContent-Length: 60\r\n\r\n"
           b"{}GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")


@finding(2)
@pytest.mark.parametrize("name", SERVICES)
def test_conflicting_content_length_is_400_and_close(stack, name):
    raw = exchange(stack.ports[name], SMUGGLE)
    rs = split_responses(raw)
    assert len(rs) == 1, "smuggled request answered: %r" % raw[:600]
    status, hdrs, body = rs[0]
    assert status == 400, raw[:300]
    assert "close" in ",".join(hdrs.get("connection", [])).lower(), hdrs


@finding(2)
@pytest.mark.parametrize("name", SERVICES)
def test_te_and_cl_is_400_and_close(stack, name):
    req = (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"2\r\n{}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    rs = split_responses(exchange(stack.ports[name], req))
    assert len(rs) == 1 and rs[0][0] == 400, rs
    assert "close" in ",".join(rs[0][1].get("connection", [])).lower(), rs[0][1]


def test_same_content_length_twice_is_400(stack):
    req = (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    rs = split_responses(exchange(stack.ports["wallet-core"], req))
    assert len(rs) == 1 and rs[0][0] == 400, rs


# ---- 3: repeated single headers

def post_transfer(port, extra_headers, body=None):
    body = tx_body() if body is None else body
    req = (b"POST /transactions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
           b"".join(h + b"\r\n" for h in extra_headers) +
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    rs = split_responses(exchange(port, req))
    return rs[0] if rs else (None, {}, b"")


@finding(3)
@pytest.mark.parametrize("which", ["Idempotency-Key", "Content-Type", "Host"])
def test_repeated_single_header_is_400_and_moves_nothing(stack, which):
    port = stack.ports["wallet-core"]
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    hdrs = {"Idempotency-Key": [b"Idempotency-Key: " + a.encode(), b"Idempotency-Key: " + b.encode()],
            "Content-Type": [b"Idempotency-Key: " + a.encode(), b"Content-Type: application/json",
                             b"Content-Type: application/json"],
            "Host": [b"Idempotency-Key: " + a.encode(), b"Host: y"]}[which]
    if which != "Content-Type":
        hdrs = hdrs + [b"Content-Type: application/json"]
    n0 = tx_count(stack)
    status, rh, body = post_transfer(port, hdrs)
    assert status == 400, (status, body)
    assert_json_error(status, rh, body)
    # the keys must not have been consumed either: a retry with each key alone is a fresh 201
    # (then undone by its reverse transfer so the balances stay as they were)
    assert tx_count(stack) == n0, "a transfer was created"


# ---- 4: content types

@finding(4)
@pytest.mark.parametrize("ctype", [b"application/x-www-form-urlencoded", None])
def test_curl_default_content_type_is_json(stack, ctype):
    port = stack.ports["wallet-core"]
    hdrs = [b"Idempotency-Key: " + str(uuid.uuid4()).encode()]
    if ctype:
        hdrs.append(b"Content-Type: " + ctype)
    status, rh, body = post_transfer(port, hdrs, tx_body(account_id_from=A2, account_id_to=A1))
    assert status == 201, (status, body)
    status, rh, body = post_transfer(port, hdrs[1:] + [b"Idempotency-Key: " + str(uuid.uuid4()).encode()])
    assert status == 201, (status, body)
    # not JSON with curl's type: a clear 400 in the JSON error shape
    status, rh, body = post_transfer(port, hdrs[1:], b"amount=1&to=x")
    assert_json_error(status, rh, body, 400)


@pytest.mark.parametrize("ctype", [b"application/xml", b"multipart/form-data; boundary=x"])
def test_clearly_other_content_types_stay_415(stack, ctype):
    status, rh, body = post_transfer(stack.ports["wallet-core"], [b"Content-Type: " + ctype])
    assert_json_error(status, rh, body, 415)


# ---- 5: JSON error pages for malformed HTTP

MALFORMED = {
    "bad-request-line": (b"GARBAGE\r\n\r\n", 400),
    "bad-header": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    "no-host": (b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    "too-large-body": (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 1000000\r\n\r\n", 413),
    "too-long-uri": (b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "too-large-headers": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                          b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(40)) + b"\r\n",
                          431),
    "long-uri": (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "large-headers": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                      b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(20)) + b"\r\n",
                      431),
    "http-2.0": (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    "bad-chunk": (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),
    "chunk-without-crlf": (b"POST /clients HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"\r\n2\r\n{}XX0\r\n\r\n", 400),
    "tls-hello": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),
    "obs-fold": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
    "space-before-colon": (b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    "bare-cr": (b"GET /healthz HTTP/1.1\rHost: x\r\n\r\n", 400),
    "control-in-value": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
    "http-1.2": (b"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 505),
    "bad-content-length": (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Length: 2x\r\n\r\n{}",
                           400),
    "gzip-coding": (b"POST /clients HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    "unknown-expectation": (b"POST /clients HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n"
                            b"Content-Length: 2\r\n\r\n{}", 417),
}


# Finding 5: every malformed request is answered by our own parser (runtime/http_parse.c,
# http_chunked.c) with the JSON error shape, libmicrohttpd's HTML pages and silent closes
# are gone with it. EDGE_NOT_FIXED=5 turns these into expected failures.
@pytest.mark.parametrize("name", SERVICES)
@pytest.mark.parametrize("case", [pytest.param(c, marks=finding(5)) for c in sorted(MALFORMED)])
def test_malformed_http_gets_json_error(stack, name, case):
    req, want = MALFORMED[case]
    rs = split_responses(exchange(stack.ports[name], req))
    assert rs, "no answer"
    status, hdrs, body = rs[0]
    # 414 and 431 are both right for a head too large to buffer; so is 400 for chunk errors
    ok = {want} | ({414, 431} if want in (414, 431) else set())
    assert status in ok, (status, body[:200])
    assert_json_error(status, hdrs, body)


@pytest.mark.parametrize("name", SERVICES)
def test_head_within_limits_is_served(stack, name):
    """Just under our limits (a 8000-byte target, 15 KB of headers): answered normally."""
    port = stack.ports[name]
    req = (b"GET /healthz?_=" + b"a" * 7980 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
           b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(15)) + b"\r\n")
    rs = split_responses(exchange(port, req))
    assert rs and rs[0][0] == 200, rs[:1]
    rs = split_responses(exchange(port, b"GET /healthz HTTP/1.0\r\n\r\n"))  # 1.0 needs no Host
    assert rs and rs[0][0] == 200, rs[:1]


# ---- the per-address connection limit (issue 13, What to build): HTTP_MAX_CONNECTIONS_PER_IP

def test_per_address_limit_from_environment(stack):
    """A second wallet-core with HTTP_MAX_CONNECTIONS_PER_IP=3: three idle connections from
    127.0.0.1 are held, the fourth is closed unanswered; once they go, /healthz answers."""
    name = stack.start_extra("wallet-core", env={"HTTP_MAX_CONNECTIONS_PER_IP": "3"})
    port = stack.ports[name]
    held = []
    try:
        assert requests.get(stack.url(name) + "/healthz", timeout=5).status_code == 200
        time.sleep(1)  # that connection must be gone on the server side too before counting
        for _ in range(3):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        for h in held:  # all three still open (a closed one reads as b"")
            h.setblocking(False)
            try:
                assert h.recv(1, socket.MSG_PEEK) != b"", "a held connection was closed"
            except BlockingIOError:
                pass
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass
        got = read_responses(s, timeout=3)
        s.close()
        assert got == b"", got[:200]
        for h in held:
            h.close()
        held = []
        time.sleep(0.5)
        assert requests.get(stack.url(name) + "/healthz", timeout=5).status_code == 200
    finally:
        for h in held:
            h.close()
        stack.stop_extra(name)


@pytest.mark.parametrize("service", SERVICES)
def test_per_address_limit_bad_value_refuses_to_start(stack, service):
    env = stack.service_env(service, stack.ports[service + "-2"])
    env["HTTP_MAX_CONNECTIONS_PER_IP"] = "lots"
    p = subprocess.run([stack.bin(service)], env=env, capture_output=True, timeout=60)
    assert p.returncode != 0
    assert b"HTTP_MAX_CONNECTIONS_PER_IP" in p.stdout + p.stderr, (p.stdout + p.stderr)[-500:]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("value", ["lots", "9", "-1"])
def test_io_threads_bad_value_refuses_to_start(stack, service, value):
    env = stack.service_env(service, stack.ports[service + "-2"])
    env["HTTP_IO_THREADS"] = value
    p = subprocess.run([stack.bin(service)], env=env, capture_output=True, timeout=60)
    assert p.returncode != 0
    assert b"HTTP_IO_THREADS" in p.stdout + p.stderr, (p.stdout + p.stderr)[-500:]


def test_one_io_thread_serves(stack):
    """HTTP_IO_THREADS=1: one event loop still serves concurrent clients."""
    name = stack.start_extra("wallet-core", env={"HTTP_IO_THREADS": "1"})
    try:
        url = stack.url(name) + "/healthz"
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: requests.get(url, timeout=5).status_code, range(64)))
        assert codes == [200] * 64, codes
    finally:
        stack.stop_extra(name)


# ---- 6: HEAD, Allow, absolute form

@finding(6)
@pytest.mark.parametrize("name", SERVICES)
def test_head_on_get_route(stack, name):
    r = requests.head(stack.url(name) + "/healthz", timeout=5)
    assert r.status_code == 200, r.status_code
    assert r.content == b""


def test_405_carries_allow(stack):
    r = requests.delete(stack.url("wallet-core") + "/accounts/" + A1, timeout=5)
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", ""), r.headers


@finding(6)
@pytest.mark.parametrize("name", SERVICES)
def test_absolute_form_request_line(stack, name):
    port = stack.ports[name]
    rs = split_responses(exchange(port, b"GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        b"Connection: close\r\n\r\n" % port))
    assert rs and rs[0][0] == 200, rs


# ---- 7: counting and logging

@finding(7)
def test_rejected_before_batcher_are_counted(stack):
    """3 undecodable bodies + 3 negative amounts: six 400s, and six more rejections with
    reason="invalid" (before: the undecodable ones were not counted at all)."""
    w = stack.url("wallet-core")

    def invalid():
        text = requests.get(w + "/metrics", timeout=5).text
        return series_sum(text, "transfers_rejected_total", 'reason="invalid"') or 0

    def http_400():
        text = requests.get(w + "/metrics", timeout=5).text
        return series_sum(text, "http_requests_total", 'route="/transactions",method="POST",code="400"') or 0
    before, before_400 = invalid(), http_400()
    codes = []
    for body in (b"{", b"nope", b"[]"):
        codes.append(requests.post(w + "/transactions", data=body,
                                   headers={"Content-Type": "application/json"}, timeout=5).status_code)
    for amount in (-1, -2, -3):
        codes.append(requests.post(w + "/transactions", data=tx_body(amount=amount),
                                   headers={"Content-Type": "application/json"}, timeout=5).status_code)
    assert codes == [400] * 6, codes
    after, after_400 = invalid(), http_400()
    assert after_400 - before_400 == 6, (before_400, after_400)
    assert after - before == 6, (before, after)


def test_dead_lettered_exported_from_start(stack):
    text = requests.get(stack.url("balances") + "/metrics", timeout=5).text
    assert series_sum(text, "events_dead_lettered_total") is not None, "series absent"


def test_aborted_connections_do_not_grow_logs(stack):
    logs = [f for f in stack.log_files() if os.path.basename(f) == "wallet-core.log"]
    time.sleep(1.5)  # let earlier tests' lines (and a "suppressed" summary) land first

    def lines():
        with open(logs[0], "rb") as f:
            return f.read().count(b"\n")
    n0 = lines()
    port = stack.ports["wallet-core"]
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-")
        s.close()  # gone mid-head
    time.sleep(1)
    grown = lines() - n0
    assert grown <= 20, "200 aborted connections wrote %d log lines" % grown
