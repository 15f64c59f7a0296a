"""test_hostile_http: both services against a hostile HTTP client.

Every bad request gets a 4xx with a grpc-gateway JSON error (or a closed connection), the
service keeps serving others, and no row changes (table checksums before == after). SQL-
looking text is stored literally. Slow clients are cut by the server's timeout; more
connections than the limit are refused without harming the service afterwards."""
import json
import socket
import time
import uuid

import pytest
import requests

A1 = "a1000000-0000-4000-8000-000000000001"
A2 = "a1000000-0000-4000-8000-000000000002"
C1 = "c1000000-0000-4000-8000-000000000001"
CONNECTION_TIMEOUT_S = 10  # runtime/http_server_internal.h DEFAULT_TIMEOUT_S
MAX_CONNECTIONS = 512  # runtime/http_server_internal.h DEFAULT_MAX_CONNECTIONS
MAX_BODY = 64 * 1024  # runtime/http_server_internal.h DEFAULT_MAX_BODY
SQL = "x'); DROP TABLE accounts; -- \" OR 1=1 #"


def checksums(stack):
    w = stack.sql("wallet-db", "CHECKSUM TABLE clients, accounts, transactions, outbox, idempotency_keys")
    b = stack.sql("balances-db", "CHECKSUM TABLE balances")
    return w + b


@pytest.fixture
def unchanged(stack):
    """Asserts that the test changed no row in either database."""
    # The relay marks rows published asynchronously: start from a drained outbox.
    deadline = time.monotonic() + 30
    while int(stack.sql("wallet-db", "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")[0][0]):
        assert time.monotonic() < deadline, "outbox not drained"
        time.sleep(0.2)
    # ... and the projector may still be applying what the relay just published: start
    # from a moment when nothing moves (the same checksums half a second apart).
    before = checksums(stack)
    while True:
        time.sleep(0.5)
        now = checksums(stack)
        if now == before:
            break
        assert time.monotonic() < deadline, "databases still changing before the test"
        before = now
    yield
    assert checksums(stack) == before, "rows changed"


def raw(port, data, timeout=15):
    """Sends DATA on a fresh connection; returns (status or None if closed, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            chunks.append(c)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
    finally:
        s.close()
    resp = b"".join(chunks)
    if not resp:
        return None, b""
    status = int(resp.split(b" ", 2)[1])
    return status, resp.split(b"\r\n\r\n", 1)[1]


def _complete(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def post_raw(port, path, body, ctype=b"application/json"):
    req = (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"Content-Type: " + ctype + b"\r\nContent-Length: " + str(len(body)).encode() +
           b"\r\n\r\n" + body)
    return raw(port, req)


def assert_json_4xx(status, body):
    if status is None:
        return  # a closed connection is an allowed answer
    assert 400 <= status < 500, (status, body[:300])
    j = json.loads(body)
    assert isinstance(j.get("code"), int) and j["code"] > 0 and isinstance(j.get("message"), str), j


def assert_serving(stack):
    for name in ("wallet-core", "balances"):
        r = requests.get(stack.url(name) + "/healthz", timeout=5)
        assert r.status_code == 200, name
    r = requests.get(stack.url("balances") + "/balances/" + A1, timeout=5)
    assert r.status_code == 200


def tx(**kw):
    b = {"account_id_from": A1, "account_id_to": A2, "amount": 1}
    b.update(kw)
    return json.dumps(b).encode()


BAD_BODIES = {
    "/transactions": [
        b"", b"{", b"nope", b"[]", b"null", b'"x"', b"{\"a\":1,}", tx()[:-5], tx()[:10],
        tx(amount="abc"), tx(amount=1.5), tx(amount=True), tx(amount=[1]), tx(amount=None),
        tx(amount="1e400"), tx(amount=0), tx(amount=-1), tx(account_id_from=123),
        b'{"account_id_from":"' + A1.encode() + b'","account_id_to":"' + A2.encode() +
        b'","amount":99999999999999999999999999}',
        b'{"account_id_from":"' + A1.encode() + b'","account_id_to":"' + A2.encode() +
        b'","amount":-9223372036854775809}',
        tx(amount=9223372036854775807),  # valid int64, far more than anyone has
        tx(amount=1, bogus=1), tx(account_id_to=A1), tx(account_id_from="a" * 36),
        tx(account_id_from=SQL), tx(account_id_to="' OR '1'='1"),
        b'{"account_id_from":"\xff\xfe' + A1[2:].encode() + b'","account_id_to":"' +
        A2.encode() + b'","amount":1}',
        b"[" * 100000, b'{"a":' * 50000, b'{"account_id_from":"\\ud800"}',
        b'{"amount":1,"amount":2}', b"\x00\x01\x02", b'{"account_id_from":"' + A1.encode() + b'\x00"}',
    ],
    "/clients": [
        b"{}", b'{"name":"","email":"a@b.co"}', b'{"name":"x","email":"not-an-email"}',
        b'{"name":"\xff","email":"a@b.co"}', b'{"name":"x","email":"a@b.co","id":"x"}',
        b'{"name":5,"email":"a@b.co"}', b'{"name":["x"],"email":"a@b.co"}',
        b'{"name":"' + b"n" * 70000 + b'","email":"a@b.co"}',
    ],
    "/accounts": [
        b"{}", b'{"client_id":"nope"}', b'{"client_id":"' + SQL.encode() + b'"}',
        b'{"client_id":"00000000-0000-4000-8000-000000000000"}', b'{"client_id":{"$ne":1}}',
    ],
}
CASES = [(p, i) for p, bodies in BAD_BODIES.items() for i in range(len(bodies))]


@pytest.mark.parametrize("path,i", CASES, ids=["%s-%d" % (p.strip("/"), i) for p, i in CASES])
def test_bad_bodies_rejected(stack, unchanged, path, i):
    status, body = post_raw(stack.ports["wallet-core"], path, BAD_BODIES[path][i])
    assert_json_4xx(status, body)
    assert_serving(stack)


def test_wrong_content_type_and_methods(stack, unchanged):
    port = stack.ports["wallet-core"]
    for ctype in (b"text/plain", b"application/xml"):
        status, body = post_raw(port, "/transactions", tx(), ctype)
        assert status == 415, (status, body)
        assert_json_4xx(status, body)
    status, body = raw(port, b"DELETE /accounts/" + A1.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 405
    assert_json_4xx(status, body)
    status, body = raw(port, b"GARBAGE\r\n\r\n")
    assert status is None or 400 <= status < 500


def test_path_and_query_parameters(stack, unchanged):
    w, b = stack.url("wallet-core"), stack.url("balances")
    for url in (w + "/accounts/' OR '1'='1", w + "/accounts/%00", w + "/clients/" + "a" * 5000,
                w + "/transactions/%ff%fe", b + "/balances/" + SQL, b + "/balances/" + A1 + "?min_version=-1",
                b + "/balances/" + A1 + "?min_version=abc", b + "/balances/" + A1 + "?min_version=1e999",
                w + "/accounts?page_size=-5", w + "/accounts?page_token=" + SQL):
        r = requests.get(url, timeout=10)
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text)
        assert_json_4xx(r.status_code, r.content)
    assert_serving(stack)


def test_ten_megabyte_body(stack, unchanged):
    body = b'{"name":"' + b"a" * (10 * 1024 * 1024) + b'","email":"a@b.co"}'
    status, resp = post_raw(stack.ports["wallet-core"], "/clients", body)
    assert status in (None, 413), status
    if status:
        assert_json_4xx(status, resp)
    assert_serving(stack)


def test_bad_idempotency_keys(stack, unchanged):
    for key in ("", "k" * 300, "\x7f\x01", SQL + "\u00e9".encode("utf-8").decode("latin-1")):
        try:
            r = requests.post(stack.url("wallet-core") + "/transactions",
                              data=tx(account_id_to=A1), timeout=10,
                              headers={"Idempotency-Key": key, "Content-Type": "application/json"})
        except (requests.ConnectionError, ValueError):
            continue
        assert 400 <= r.status_code < 500, (key, r.status_code, r.text)


def test_sql_text_is_stored_literally(stack):
    """SQL-looking strings in every free-text field are data: stored and read back as sent."""
    w = stack.url("wallet-core")
    n_tables = stack.sql("wallet-db", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='wallet'")
    name = "Robert'); DROP TABLE clients; -- \\ \" ` %s %n \u00e9"
    email = "o'hara+1=1@example.com"
    r = requests.post(w + "/clients", json={"name": name, "email": email}, timeout=10)
    assert r.status_code in (201, 400), r.text
    if r.status_code == 201:
        cid = r.json()["id"]
        got = requests.get(w + "/clients/" + cid, timeout=10).json()
        assert got["name"] == name and got["email"] == email
        row = stack.sql("wallet-db", "SELECT name, email FROM clients WHERE id='%s'" % cid)
        assert row == [[name.replace("\\", "\\\\"), email]], row  # the CLI escapes backslashes
    r = requests.post(w + "/clients", json={"name": "x", "email": SQL + "@example.com"}, timeout=10)
    assert 200 <= r.status_code < 500
    # A transfer whose Idempotency-Key looks like SQL: stored literally or refused.
    key = "k'; DELETE FROM accounts; --"
    r = requests.post(w + "/transactions", json={"account_id_from": A1, "account_id_to": A2, "amount": 1},
                      headers={"Idempotency-Key": key}, timeout=10)
    assert r.status_code in (201, 400), r.text
    if r.status_code == 201:
        assert stack.sql("wallet-db", "SELECT idem_key FROM idempotency_keys WHERE transaction_id='%s'"
                         % r.json()["id"]) == [[key]]
        r2 = requests.post(w + "/transactions", json={"account_id_from": A2, "account_id_to": A1, "amount": 1},
                           headers={"Idempotency-Key": key}, timeout=10)
        assert r2.status_code == 409, r2.text
        requests.post(w + "/transactions", json={"account_id_from": A2, "account_id_to": A1, "amount": 1},
                      headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert stack.sql("wallet-db", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='wallet'") == n_tables
    total = int(stack.sql("wallet-db", "SELECT SUM(balance) FROM accounts")[0][0])
    assert total == 350000


def test_slow_client_is_cut(stack, unchanged):
    """Headers a byte a second: others are served meanwhile, and the server closes the
    connection once it has been idle for its timeout."""
    port = stack.ports["wallet-core"]
    s = socket.create_connection(("127.0.0.1", port), timeout=CONNECTION_TIMEOUT_S + 10)
    try:
        for ch in b"GET /":
            s.sendall(bytes([ch]))
            assert_serving(stack)
            time.sleep(1)
        t0 = time.monotonic()
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        waited = time.monotonic() - t0
        assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:100]
        assert waited < CONNECTION_TIMEOUT_S + 5, "server kept a silent client %.1fs" % waited
    finally:
        s.close()
    assert_serving(stack)


def test_more_connections_than_the_limit(stack, unchanged):
    """Past MAX_CONNECTIONS the server closes the oldest connections still waiting for a
    request (runtime/http_edge.c), so requests on the newest connections are served while
    the others are held; the thread count stays bounded, and all is well afterwards."""
    port, pid = stack.ports["balances"], stack.pid("balances")
    extra = 40
    socks, refused = [], 0
    try:
        for _ in range(MAX_CONNECTIONS + extra):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                refused += 1
        time.sleep(1)
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        for s in socks[-extra:]:
            try:
                s.sendall(req)
            except OSError:
                pass
        time.sleep(2)
        answered = 0
        for s in socks[-extra:]:
            s.setblocking(False)
            try:
                answered += s.recv(64).startswith(b"HTTP/1.1 200")
            except (BlockingIOError, OSError):
                pass
        with open("/proc/%d/status" % pid) as f:
            threads = int([l for l in f if l.startswith("Threads:")][0].split()[1])
        assert answered == extra, "%d of %d connections past the limit served" % (answered, extra)
        assert threads < MAX_CONNECTIONS + 100, "%d threads" % threads
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            assert_serving(stack)
            break
        except (requests.RequestException, AssertionError):
            assert time.monotonic() < deadline, "not serving after the connection flood"
            time.sleep(0.5)
