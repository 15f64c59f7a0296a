"""test_hostile_kafka: poison records on topic balances (the topic the projector reads).

Each lands in balances.dlq with a dlq_reason header naming what is wrong (read back with
eventcat), the projector keeps going (a real transfer made afterwards reaches the read
model), and the read model is unchanged by the poison. Records are produced with kcat
(one file = one record); protobuf values are encoded here by hand."""
import os
import struct
import subprocess
import tempfile
import time
import uuid

import requests

A1 = "a1000000-0000-4000-8000-000000000001"
A2 = "a1000000-0000-4000-8000-000000000002"


def varint(n):
    n &= (1 << 64) - 1  # negative int64: ten bytes of two's complement, as protobuf does
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_int(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b


def timestamp(sec=1767225600, nanos=0):
    return field_int(1, sec) + field_int(2, nanos)


def balance_updated(**over):
    f = {"event_id": str(uuid.uuid4()), "occurred_at": timestamp(), "transaction_id": str(uuid.uuid4()),
         "from": A1, "to": A2, "bal_from": 1, "bal_to": 1, "ver_from": 1, "ver_to": 1}
    f.update(over)
    out = b""
    for num, k in ((1, "event_id"), (2, "occurred_at"), (3, "transaction_id"), (4, "from"), (5, "to")):
        if f[k] is not None:
            out += field_bytes(num, f[k])
    for num, k in ((6, "bal_from"), (7, "bal_to"), (8, "ver_from"), (9, "ver_to")):
        if f[k] is not None:
            out += field_int(num, f[k])
    return out


def transaction_created():
    return (field_bytes(1, str(uuid.uuid4())) + field_bytes(2, timestamp()) +
            field_bytes(3, str(uuid.uuid4())) + field_bytes(4, A1) + field_bytes(5, A2) + field_int(6, 5))


BU = "wallet.v1.BalanceUpdated"
CASES = [
    # name, ce_type (None: no header), value, words expected in the reason
    ("random_bytes", BU, bytes(os.urandom(200)), None),
    ("truncated", BU, balance_updated()[:-7], None),
    ("wrong_type", "wallet.v1.TransactionCreated", transaction_created(), None),
    ("unknown_type", "wallet.v1.Nope", balance_updated(), None),
    ("no_type_header", None, balance_updated(), None),
    ("missing_from", BU, balance_updated(**{"from": None}), "account_id_from"),
    ("missing_event_id", BU, balance_updated(event_id=None), "event_id"),
    ("missing_transaction_id", BU, balance_updated(transaction_id=None), "transaction_id"),
    ("bad_event_id", BU, balance_updated(event_id="e1"), "event_id"),
    ("not_uuid", BU, balance_updated(to="'; DROP TABLE balances; --"), "account_id_to"),
    ("negative_version", BU, balance_updated(ver_from=-5), "version_account_id_from"),
    ("zero_version", BU, balance_updated(ver_to=0), "version_account_id_to"),
    ("negative_balance", BU, balance_updated(bal_to=-1), "balance_account_id_to"),
    ("same_accounts", BU, balance_updated(to=A1), None),
    ("no_occurred_at", BU, balance_updated(occurred_at=None), "occurred_at"),
    ("only_event_id", BU, field_bytes(1, str(uuid.uuid4())), None),
    ("account_created_no_id", "wallet.v1.AccountCreated",
     field_bytes(1, str(uuid.uuid4())) + field_bytes(2, timestamp()) + field_int(6, 1), "account_id"),
    ("oversized", BU, balance_updated() + field_bytes(15, b"x" * (70 * 1024)), None),
]


def produce(stack, case, ce_type, value):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(value)
    try:
        cmd = ["kcat", "-P", "-b", stack.brokers, "-t", "balances", "-k", A1, "-H", "faults_case=" + case]
        if ce_type is not None:
            cmd += ["-H", "ce_type=" + ce_type]
        subprocess.run(cmd + [f.name], check=True, timeout=60, stderr=subprocess.PIPE)
    finally:
        os.unlink(f.name)


def test_poison_records_go_to_the_dlq_and_the_consumer_moves_on(stack):
    run = uuid.uuid4().hex[:8]
    before_model = stack.sql("balances-db", "CHECKSUM TABLE balances")
    for name, ce_type, value, _ in CASES:
        produce(stack, "%s-%s" % (run, name), ce_type, value)

    # Every case reaches the DLQ with a reason.
    deadline = time.monotonic() + 60
    while True:
        dlq = {}
        for ev in stack.events(topics=("balances.dlq",)):
            h = ev.get("headers") or {}
            case = h.get("faults_case", "")
            if case.startswith(run + "-"):
                dlq.setdefault(case[len(run) + 1:], []).append(h)
        missing = [c[0] for c in CASES if c[0] not in dlq]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, "not dead-lettered: %s (dlq has %s)" % (missing, sorted(dlq))
    for name, _, _, words in CASES:
        h = dlq[name][0]
        assert h.get("dlq_reason"), (name, h)
        assert h.get("dlq_topic") == "balances" and h.get("dlq_partition") and h.get("dlq_offset"), h
        if words:
            assert words in h["dlq_reason"], (name, h["dlq_reason"])
    assert stack.sql("balances-db", "CHECKSUM TABLE balances") == before_model, "poison changed the read model"

    # The projector kept going: a real transfer made now reaches the read model.
    r = requests.post(stack.url("wallet-core") + "/transactions",
                      json={"account_id_from": A1, "account_id_to": A2, "amount": 1},
                      headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=15)
    assert r.status_code == 201, r.text
    v = int(r.json()["version_account_id_to"])
    g = requests.get("%s/balances/%s?min_version=%d" % (stack.url("balances"), A2, v), timeout=15)
    deadline = time.monotonic() + 30
    while g.json().get("stale") and time.monotonic() < deadline:
        g = requests.get("%s/balances/%s?min_version=%d" % (stack.url("balances"), A2, v), timeout=15)
    assert g.status_code == 200 and int(g.json()["version"]) >= v and not g.json().get("stale"), g.text
    # Give the money back so the seeded accounts end as they began.
    requests.post(stack.url("wallet-core") + "/transactions",
                  json={"account_id_from": A2, "account_id_to": A1, "amount": 1},
                  headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=15)
    m = stack.metrics("balances")
    assert m and m.get("events_dead_lettered_total", 0) >= len(CASES), m and m.get("events_dead_lettered_total")
    assert stack.pid("balances") and stack.alive(stack.pid("balances"))


def test_varint_encoder():
    assert varint(1) == b"\x01" and varint(300) == b"\xac\x02"
    assert varint(-1) == b"\xff" * 9 + b"\x01"
    assert struct.pack("<B", 8) == field_int(1, 0)[:1]
