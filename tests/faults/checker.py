"""checker: the invariants of issue 7, checked at the end of every scenario, and the tally.

A Scenario owns its accounts (one client, N accounts created through the API and funded by
transfers from a seeded account), snapshots wallet-core before anything moves, and after
the load and the faults checks, against the whole database and the whole topics:

wallet-core   total money == the seeded total (350000: transfers only move money); no
              negative balance; for every account touched since the snapshot, the committed
              transaction rows replay exactly: ordered by that account's version they
              number snapshot+1..final with no gap, and each row's balance-after is the
              previous one plus or minus its amount, ending at the account's balance.
clients       every 201 the client saw is a transaction row (no lost commit); no rejected
              request left a row; every new row belongs to exactly one request's
              Idempotency-Key (no effect without a request); unknown outcomes (503,
              reset, timeout) are reconciled through idempotency_keys.
Kafka         once the outbox is drained: every transaction row has exactly one
              TransactionCreated and one BalanceUpdated by event id, whose fields equal the
              row (redelivered copies of one event id are counted, allowed); every new
              account has one AccountCreated; no event names a transaction that is not a
              row (phantom); ce_id equals the value's event_id.
balances      the read model equals wallet-core's (balance and version, every account)
              once the projector's consumer lag is 0 (polled with a deadline); and its
              history equals wallet-core's statements: every account has entries for
              versions 1..its version, each transfer's entry on both sides has the row's
              transaction, counterparty, signed amount and balance after, and there is no
              entry without a row (GET /balances/{id}/history says complete through the
              account's version); and on every running balances instance
              GET /balances/{id}?min_version=its version answers that balance, not stale
              (the table), and a plain GET shows the same within 10 s (the in-memory view,
              which holds all partitions in each instance). A difference counts as
              readmodel_mismatches.
"""
import collections
import time
import uuid

import requests

SEEDED_TOTAL = 350000
FUNDER = "a1000000-0000-4000-8000-000000000003"  # 200000 at seed
SEED_CLIENT = "c1000000-0000-4000-8000-000000000002"

FAIL_FIELDS = ("events_lost", "duplicate_effects", "readmodel_mismatches", "phantom_events",
               "lost_commits", "invariant_violations", "sanitizer_reports")


class Tally:
    def __init__(self, name):
        self.name = name
        self.f = collections.OrderedDict(
            (k, 0) for k in ("attempted", "committed", "rejected", "unknown", "faults",
                             "events_lost", "duplicate_effects", "readmodel_mismatches",
                             "phantom_events", "lost_commits", "invariant_violations",
                             "wire_duplicates", "unavailable", "error5xx", "sanitizer_reports"))
        self.max_latency = 0.0
        self.problems = []

    def problem(self, field, msg):
        self.f[field] += 1
        if len(self.problems) < 40:
            self.problems.append("%s: %s" % (field, msg))

    def line(self):
        return "tally scenario=%s %s max_latency_s=%.2f" % (
            self.name, " ".join("%s=%d" % kv for kv in self.f.items()), self.max_latency)

    def failed(self):
        return any(self.f[k] for k in FAIL_FIELDS)


def _post(url, body, key=None, timeout=15):
    h = {"Idempotency-Key": key} if key else {}
    return requests.post(url, json=body, headers=h, timeout=timeout)


def post_ok(url, body, key=None, attempts=40):
    """POST that must end in 2xx; retries (same key) through 503s and resets."""
    last = None
    for _ in range(attempts):
        try:
            r = _post(url, body, key)
            if r.status_code in (200, 201):
                return r.json()
            last = "%d %s" % (r.status_code, r.text[:200])
            if r.status_code != 503:
                break
        except requests.RequestException as e:
            last = repr(e)
        time.sleep(0.5)
    raise AssertionError("POST %s %s failed: %s" % (url, body, last))


class Scenario:
    def __init__(self, stack, name, accounts=5, fund=1000):
        self.stack, self.name = stack, name
        self.n_accounts, self.fund = accounts, fund
        self.accounts = []
        self.tally = Tally(name)
        self.before_accounts = {}
        self.before_txs = set()

    # ---- reading wallet-core and balances

    def wallet_accounts(self):
        return {r[0]: (int(r[1]), int(r[2]))
                for r in self.stack.sql("wallet-db", "SELECT id, balance, version FROM accounts")}

    def read_model(self):
        return {r[0]: (int(r[1]), int(r[2]))
                for r in self.stack.sql("balances-db", "SELECT account_id, balance, version FROM balances")}

    def tx_rows(self):
        cols = ("id", "from", "to", "amount", "bal_from", "bal_to", "ver_from", "ver_to")
        out = {}
        for r in self.stack.sql("wallet-db",
                                "SELECT id, account_id_from, account_id_to, amount, "
                                "balance_account_id_from, balance_account_id_to, "
                                "version_account_id_from, version_account_id_to FROM transactions"):
            d = dict(zip(cols, r))
            for k in cols[3:]:
                d[k] = int(d[k])
            out[d["id"]] = d
        return out

    def idempotency(self):
        return {r[0]: r[1] for r in self.stack.sql("wallet-db",
                                                   "SELECT idem_key, transaction_id FROM idempotency_keys")}

    # ---- setup

    def setup(self):
        self.before_accounts = self.wallet_accounts()
        self.before_txs = set(self.tx_rows())
        self.stack.mark_logs()
        w = self.stack.url("wallet-core")
        client = post_ok(w + "/clients", {"name": "faults %s" % self.name,
                                          "email": "faults-%s@example.com" % uuid.uuid4().hex[:8]})
        for _ in range(self.n_accounts):
            acc = post_ok(w + "/accounts", {"client_id": client["id"]})
            self.accounts.append(acc["id"])
            post_ok(w + "/transactions", {"account_id_from": FUNDER, "account_id_to": acc["id"],
                                          "amount": self.fund}, key=str(uuid.uuid4()))
        return self

    def sweep(self):
        """Gives the scenario's money back to the funder, so long runs do not drain it."""
        w = self.stack.url("wallet-core")
        accs = self.wallet_accounts()
        for a in self.accounts:
            bal = accs.get(a, (0, 0))[0]
            if bal > 0:
                post_ok(w + "/transactions", {"account_id_from": a, "account_id_to": FUNDER,
                                              "amount": bal}, key=str(uuid.uuid4()))

    # ---- waiting for quiet

    def wait_outbox_drained(self, deadline):
        while True:
            try:
                n = int(self.stack.sql("wallet-db",
                                       "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")[0][0])
            except Exception:  # the server may be coming back
                n = -1
            if n == 0:
                return True
            if time.monotonic() > deadline:
                self.tally.problem("events_lost", "outbox still has %d unpublished rows" % n)
                return False
            time.sleep(0.25)

    def wait_read_model(self, deadline):
        """Polls until lag is 0 and the read model equals wallet-core; returns the diffs."""
        while True:
            w, b = self.wallet_accounts(), self.read_model()
            diffs = [(a, w[a], b.get(a)) for a in w if b.get(a) != w[a]]
            diffs += [(a, None, b[a]) for a in b if a not in w]
            lags = []
            for name in ("balances", "balances-2"):
                if name == "balances-2" and name not in self.stack.extra:
                    continue
                m = self.stack.metrics(name)
                lags.append(None if m is None else m.get("consumer_lag"))
            if not diffs and all(lag == 0 for lag in lags):
                return []
            if time.monotonic() > deadline:
                return diffs or [("consumer_lag", lags, None)]
            time.sleep(0.25)

    # ---- the check

    def check(self, load_outcomes, faults=0, settle_s=120):
        t = self.tally
        t.f["faults"] = faults
        deadline = time.monotonic() + settle_s

        # Clients' view, reconciled through the idempotency keys.
        idem = self.idempotency()
        txs = self.tx_rows()
        key_of_tx = {tx: k for k, tx in idem.items()}
        for o in load_outcomes:
            t.f["attempted"] += 1
            t.max_latency = max(t.max_latency, o.latency)
            if o.kind == "committed":
                t.f["committed"] += 1
                if idem.get(o.key) != o.tx.get("id") or o.tx.get("id") not in txs:
                    t.problem("lost_commits", "201 for %s (key %s) but no such row" % (o.tx.get("id"), o.key))
            elif o.kind == "rejected":
                t.f["rejected"] += 1
                if o.key in idem:
                    t.problem("duplicate_effects", "rejected request %s (%s) has a row %s" %
                              (o.key, o.error, idem[o.key]))
            else:
                t.f["unknown"] += 1
                if o.kind == "unavailable":
                    t.f["unavailable"] += 1
                if o.kind == "error5xx":
                    t.f["error5xx"] += 1
                if o.key in idem:
                    t.f["committed"] += 1
        our_keys = {o.key for o in load_outcomes}
        new_txs = {i: r for i, r in txs.items() if i not in self.before_txs}
        # Transfers made outside the load (funding, sweeping) carry keys too; a row without
        # a key at all is money moved without a request.
        for i in new_txs:
            if i not in key_of_tx:
                t.problem("duplicate_effects", "transaction %s has no idempotency key" % i)
        n_load_rows = sum(1 for i in new_txs if key_of_tx.get(i) in our_keys)
        n_resolved = sum(1 for o in load_outcomes if o.key in idem)
        if n_load_rows != n_resolved:
            t.problem("duplicate_effects", "%d rows for %d committed requests" % (n_load_rows, n_resolved))

        # wallet-core's own books.
        accs = self.wallet_accounts()
        total = sum(b for b, _ in accs.values())
        if total != SEEDED_TOTAL:
            t.problem("invariant_violations", "total money %d != %d" % (total, SEEDED_TOTAL))
        for a, (b, _) in accs.items():
            if b < 0:
                t.problem("invariant_violations", "account %s balance %d < 0" % (a, b))
        self._check_chains(accs, new_txs)

        # Kafka, once everything committed has been relayed.
        if self.wait_outbox_drained(deadline):
            self._check_events(txs, new_txs)

        # The read model.
        diffs = self.wait_read_model(deadline)
        for d in diffs:
            t.problem("readmodel_mismatches", "account %s wallet-core %s read model %s" % d)
        if not diffs:
            self._check_http_reads(accs)
            self._check_history(accs, txs)

        reports = self.stack.sanitizer_reports()
        for r in reports:
            t.problem("sanitizer_reports", r)
        return t

    def _check_chains(self, accs, new_txs):
        per = collections.defaultdict(list)  # account -> [(version, balance_after, delta)]
        for r in new_txs.values():
            per[r["from"]].append((r["ver_from"], r["bal_from"], -r["amount"], r["id"]))
            per[r["to"]].append((r["ver_to"], r["bal_to"], r["amount"], r["id"]))
        for a, rows in per.items():
            rows.sort()
            bal, ver = self.before_accounts.get(a, (0, 1))
            for v, after, delta, tx in rows:
                if v != ver + 1 or after != bal + delta:
                    self.tally.problem("invariant_violations",
                                       "account %s: tx %s has version %d balance %d, expected %d/%d"
                                       % (a, tx, v, after, ver + 1, bal + delta))
                    break
                bal, ver = after, v
            else:
                if accs.get(a) != (bal, ver):
                    self.tally.problem("invariant_violations",
                                       "account %s is %s, its transactions end at %s" % (a, accs.get(a), (bal, ver)))

    def _check_events(self, txs, new_txs):
        t = self.tally
        try:
            events = self.stack.events()
        except Exception as e:  # noqa: BLE001 - reported as lost events
            t.problem("events_lost", "could not read the topics: %s" % e)
            return
        by = {"wallet.v1.TransactionCreated": collections.defaultdict(collections.Counter),
              "wallet.v1.BalanceUpdated": collections.defaultdict(collections.Counter),
              "wallet.v1.AccountCreated": collections.defaultdict(collections.Counter)}
        values = {}
        for ev in events:
            v, typ = ev.get("value"), ev.get("type")
            if v is None or typ not in by:
                t.problem("phantom_events", "undecodable record %s/%s@%s" %
                          (ev.get("topic"), ev.get("partition"), ev.get("offset")))
                continue
            if (ev.get("headers") or {}).get("ce_id") != v.get("event_id"):
                t.problem("invariant_violations", "ce_id %s != event_id %s" %
                          ((ev.get("headers") or {}).get("ce_id"), v.get("event_id")))
            ref = v.get("account_id") if typ == "wallet.v1.AccountCreated" else v.get("transaction_id")
            by[typ][ref][v["event_id"]] += 1
            values[v["event_id"]] = (typ, v)
        for typ in ("wallet.v1.TransactionCreated", "wallet.v1.BalanceUpdated"):
            for txid, ids in by[typ].items():
                if txid not in txs:
                    t.problem("phantom_events", "%s for transaction %s that is not a row" % (typ, txid))
                    continue
                if len(ids) > 1:
                    t.problem("duplicate_effects", "%s for %s has %d event ids" % (typ, txid, len(ids)))
                if txid in new_txs:
                    t.f["wire_duplicates"] += sum(ids.values()) - len(ids)
            for txid, r in new_txs.items():
                ids = by[typ].get(txid)
                if not ids:
                    t.problem("events_lost", "no %s for transaction %s" % (typ, txid))
                    continue
                v = values[next(iter(ids))][1]
                want = {"account_id_from": r["from"], "account_id_to": r["to"]}
                if typ == "wallet.v1.TransactionCreated":
                    want["amount"] = str(r["amount"])
                else:
                    want.update({"balance_account_id_from": str(r["bal_from"]),
                                 "balance_account_id_to": str(r["bal_to"]),
                                 "version_account_id_from": str(r["ver_from"]),
                                 "version_account_id_to": str(r["ver_to"])})
                for k, val in want.items():
                    if str(v.get(k)) != val:
                        t.problem("invariant_violations", "%s of %s: %s=%s, row says %s" %
                                  (typ, txid, k, v.get(k), val))
        for a in self.accounts:
            ids = by["wallet.v1.AccountCreated"].get(a)
            if not ids:
                t.problem("events_lost", "no AccountCreated for %s" % a)
            elif len(ids) > 1:
                t.problem("duplicate_effects", "AccountCreated for %s has %d event ids" % (a, len(ids)))

    def balances_instances(self):
        """Every balances instance running now: each one answers GET /balances for every
        account (its in-memory view holds all partitions, not just the ones it projects)."""
        names = []
        for n in self.stack.ports:
            if n == "balances" or (n.startswith("balances-") and n[9:].isdigit()):
                pid = self.stack.pid(n)
                if pid is not None and self.stack.alive(pid):
                    names.append(n)
        return names

    def _check_http_reads(self, accs):
        for name in self.balances_instances():
            b = self.stack.url(name)
            for a in self.accounts:
                bal, ver = accs[a]
                try:
                    r = requests.get("%s/balances/%s?min_version=%d" % (b, a, ver), timeout=10)
                    j = r.json()
                except (requests.RequestException, ValueError) as e:
                    self.tally.problem("readmodel_mismatches", "GET %s/balances/%s: %s" % (name, a, e))
                    continue
                if r.status_code != 200 or int(j["balance"]) != bal or int(j["version"]) != ver or j.get("stale"):
                    self.tally.problem("readmodel_mismatches", "GET %s/balances/%s -> %d %s, want %d/%d" %
                                       (name, a, r.status_code, j, bal, ver))
                got = self._plain_read(b, a, ver)
                if got != (bal, ver):
                    self.tally.problem("readmodel_mismatches", "GET %s/balances/%s (no min_version, the"
                                       " in-memory view) -> %s, want %d/%d" % (name, a, got, bal, ver))

    @staticmethod
    def _plain_read(base, account, ver, settle_s=10):
        """A plain GET (the in-memory view when live): polled until it shows version ver
        (the view may trail the table briefly); what it showed last otherwise."""
        deadline, got = time.monotonic() + settle_s, None
        while True:
            try:
                r = requests.get("%s/balances/%s" % (base, account), timeout=10)
                j = r.json()
                got = (int(j["balance"]), int(j["version"])) if r.status_code == 200 else (r.status_code, j)
            except (requests.RequestException, ValueError, KeyError) as e:
                got = str(e)
            if (isinstance(got, tuple) and len(got) == 2 and got[1] == ver) or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def _check_history(self, accs, txs):
        """balance_history against wallet-core's rows (HISTORY=on, the default)."""
        t = self.tally
        want = {}
        for r in txs.values():
            want[(r["from"], r["ver_from"])] = (r["id"], r["to"], -r["amount"], r["bal_from"])
            want[(r["to"], r["ver_to"])] = (r["id"], r["from"], r["amount"], r["bal_to"])
        got, firsts = {}, set()
        for row in self.stack.sql("balances-db",
                                  "SELECT account_id, version, transaction_id, counterparty_id, "
                                  "amount, balance_after FROM balance_history"):
            a, v = row[0], int(row[1])
            if v == 1:
                firsts.add(a)
                continue
            got[(a, v)] = (row[2], row[3], int(row[4]), int(row[5]))
        for k, w in want.items():
            g = got.get(k)
            if g != w:
                t.problem("readmodel_mismatches", "history of %s v%d: %s, wallet-core row says %s"
                          % (k[0], k[1], g, w))
        for k in got:
            if k not in want:
                t.problem("readmodel_mismatches", "history of %s v%d names transaction %s: no such row"
                          % (k[0], k[1], got[k][0]))
        for a in accs:
            if a not in firsts:
                t.problem("readmodel_mismatches", "history of %s has no version 1 entry" % a)
        b = self.stack.url("balances")
        for a in self.accounts:
            ver = accs[a][1]
            try:
                r = requests.get("%s/balances/%s/history?page_size=1" % (b, a), timeout=10)
                j = r.json()
            except (requests.RequestException, ValueError) as e:
                t.problem("readmodel_mismatches", "GET /balances/%s/history: %s" % (a, e))
                continue
            if (r.status_code != 200 or int(j.get("complete_through_version", 0)) != ver
                    or int(j.get("latest_version", 0)) != ver):
                t.problem("readmodel_mismatches", "GET /balances/%s/history -> %d %s, want complete "
                          "through %d" % (a, r.status_code, j, ver))
