"""load: bounded concurrent transfer load over HTTP, recording every request's outcome.

N client threads (each with its own keep-alive session) POST random transfers among a set
of accounts until M transfers were attempted or T seconds passed, whichever comes first.
Every request carries a unique Idempotency-Key, so an outcome the client could not see (a
503, a reset connection, a timeout) can be reconciled afterwards: the key is in
wallet-core's idempotency_keys table exactly when the transfer committed.

Outcome kinds:
  committed    201 (or 200, an idempotent replay) with a transaction body
  rejected     4xx (insufficient funds and the like): must have changed nothing
  unavailable  503: the service said it could not serve; outcome unknown until reconciled
  unknown      connection error or timeout: outcome unknown until reconciled
  error5xx     any other 5xx: a bug under normal load
"""
import random
import threading
import time
import uuid

import requests

REQUEST_TIMEOUT_S = 15.0


class Outcome:
    __slots__ = ("key", "body", "kind", "status", "tx", "latency", "error", "started")

    def __init__(self, key, body):
        self.key, self.body = key, body
        self.kind = self.status = self.tx = self.error = None
        self.latency = 0.0
        self.started = 0.0


class Load:
    def __init__(self, wallet_urls, accounts, clients=32, transfers=2000, seconds=60.0,
                 max_amount=300, seed=None, timeout=REQUEST_TIMEOUT_S):
        self.urls = list(wallet_urls) if isinstance(wallet_urls, (list, tuple)) else [wallet_urls]
        self.accounts = list(accounts)
        self.clients, self.transfers, self.seconds = clients, transfers, seconds
        self.max_amount, self.timeout = max_amount, timeout
        self.rng = random.Random(seed)
        self.outcomes = []
        self.lock = threading.Lock()
        self.issued = 0
        self.stop_flag = threading.Event()
        self.threads = []
        self.t0 = None

    # ---- progress, read by fault injectors

    def count(self, kind=None):
        with self.lock:
            if kind is None:
                return len(self.outcomes)
            return sum(1 for o in self.outcomes if o.kind == kind)

    def wait_for(self, committed, timeout=60.0):
        """Blocks until COMMITTED transfers were seen (or the load ended / timed out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.done():
            if self.count("committed") >= committed:
                return True
            time.sleep(0.02)
        return self.count("committed") >= committed

    def done(self):
        return all(not t.is_alive() for t in self.threads)

    # ---- running

    def _next(self):
        with self.lock:
            if self.issued >= self.transfers or self.stop_flag.is_set():
                return None
            if time.monotonic() - self.t0 >= self.seconds:
                return None
            self.issued += 1
            a, b = self.rng.sample(self.accounts, 2)
            amount = self.rng.randint(1, self.max_amount)
            url = self.urls[self.issued % len(self.urls)]
        return url, {"account_id_from": a, "account_id_to": b, "amount": amount}

    def _client(self):
        s = requests.Session()
        backoff = 0.0
        while True:
            nxt = self._next()
            if nxt is None:
                break
            url, body = nxt
            o = Outcome(str(uuid.uuid4()), body)
            o.started = time.monotonic()
            try:
                r = s.post(url + "/transactions", json=body, timeout=self.timeout,
                           headers={"Idempotency-Key": o.key})
                o.status = r.status_code
                if r.status_code in (200, 201):
                    o.kind = "committed"
                    o.tx = r.json()
                elif 400 <= r.status_code < 500:
                    o.kind = "rejected"
                    o.error = r.text[:200]
                elif r.status_code == 503:
                    o.kind = "unavailable"
                    o.error = r.text[:200]
                else:
                    o.kind = "error5xx"
                    o.error = r.text[:200]
            except (requests.ConnectionError, requests.Timeout) as e:
                o.kind = "unknown"
                o.error = type(e).__name__
                s.close()
                s = requests.Session()
            except ValueError as e:  # 2xx without a JSON body
                o.kind = "error5xx"
                o.error = "bad body: %s" % e
            o.latency = time.monotonic() - o.started
            with self.lock:
                self.outcomes.append(o)
            # Back off while the service is away, as a real client would: a dead server
            # answers at once and would otherwise burn the whole budget in a second.
            if o.kind in ("unknown", "unavailable"):
                backoff = min(1.0, backoff * 2 if backoff else 0.1)
                time.sleep(backoff)
            else:
                backoff = 0.0
        s.close()

    def start(self):
        self.t0 = time.monotonic()
        for _ in range(self.clients):
            t = threading.Thread(target=self._client, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def join(self):
        for t in self.threads:
            t.join(self.seconds + self.timeout + 30)
        return self

    def stop(self):
        self.stop_flag.set()

    def run(self):
        return self.start().join()

    def max_latency(self):
        return max((o.latency for o in self.outcomes), default=0.0)

    def summary(self):
        kinds = {}
        for o in self.outcomes:
            kinds[o.kind] = kinds.get(o.kind, 0) + 1
        return kinds
