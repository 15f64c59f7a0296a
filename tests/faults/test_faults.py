"""test_faults: Jepsen-style scenarios. Each runs a concurrent transfer load over HTTP,
injects its faults mid-load, lets the system heal (tools/stack up restarts what died), then
runs the checker and prints a tally line. Bounded in requests and time; loopback only."""
import signal
import time

import pytest

from checker import Scenario
from load import Load

MAX_LATENCY_S = 15.0  # a request during an outage gets an answer (503) or a reset, not a hang


def committed_since(load, t):
    with load.lock:
        return sum(1 for o in load.outcomes if o.kind == "committed" and o.started >= t)


def run(stack, record_tally, name, inject, transfers, seconds, clients=32, urls=None,
        scenario_hook=None, expected_faults=None):
    sc = Scenario(stack, name).setup()
    # Faults take as long as they take (a restart waits for readiness), so a load with
    # faults gets room to spare (still bounded by `seconds`) and is stopped once the faults
    # are over and it has made its planned number of attempts: every fault hits a running
    # load, however fast the machine.
    load = Load(urls or [stack.url("wallet-core")], sc.accounts, clients=clients,
                transfers=transfers * 20 if inject else transfers, seconds=seconds)
    load.start()
    try:
        faults = 0
        if inject:
            faults = inject(stack, load)
            while load.count() < transfers and not load.done():
                time.sleep(0.05)
            load.stop_flag.set()
    finally:
        load.join()
    # Heal whatever the scenario left down, then check everything.
    stack.restart()
    tally = sc.check(load.outcomes, faults)
    line = record_tally(tally)
    print(line)
    # A fault injected after the load ended proves nothing: every planned one must have
    # hit a running load (this fails when the load ran out of time first).
    if expected_faults is not None:
        assert faults == expected_faults, "%d of %d faults hit the load: %s" % (
            faults, expected_faults, line)
    if scenario_hook:
        scenario_hook(sc, load, tally)
    assert not tally.failed(), "\n".join([line] + tally.problems)
    assert tally.max_latency < MAX_LATENCY_S, line
    assert tally.f["error5xx"] == 0, [o.error for o in load.outcomes if o.kind == "error5xx"][:5]
    sc.sweep()
    return sc, load, tally


def kill_and_restart(parts, repeat, down_s=1.0):
    def inject(stack, load):
        n = 0
        for i in range(repeat):
            load.wait_for(load.count("committed") + 100, timeout=30)
            if load.done():
                break
            for p in parts:
                stack.kill9(p)
                n += 1
            time.sleep(down_s)
            stack.restart()
            t = time.monotonic()
            # Recovered by itself: transfers commit again after the restart.
            deadline = t + 30
            while committed_since(load, t) < 20 and time.monotonic() < deadline and not load.done():
                time.sleep(0.05)
            if "wallet-core" in parts and not load.done():
                assert committed_since(load, t) >= 20, "no transfer committed after restarting %s" % parts
        return n
    return inject


def test_baseline(stack, record_tally, profile):
    """Issue 3/4: 32 clients x 2,000 random transfers among 5 accounts, no faults."""
    _, load, tally = run(stack, record_tally, "baseline", None, profile["baseline"],
                         profile["seconds"] * 2)
    assert tally.f["attempted"] == profile["baseline"]
    assert tally.f["unknown"] == 0 and tally.f["unavailable"] == 0, load.summary()
    assert tally.f["committed"] > tally.f["attempted"] // 2


def test_kill9_wallet_core(stack, record_tally, profile):
    run(stack, record_tally, "kill9_wallet_core",
        kill_and_restart(["wallet-core"], profile["repeat"]),
        profile["transfers"], profile["seconds"], expected_faults=profile["repeat"])


def test_kill9_balances(stack, record_tally, profile):
    run(stack, record_tally, "kill9_balances",
        kill_and_restart(["balances"], profile["repeat"]),
        profile["transfers"], profile["seconds"], expected_faults=profile["repeat"])


def test_kill9_both(stack, record_tally, profile):
    run(stack, record_tally, "kill9_both",
        kill_and_restart(["wallet-core", "balances"], profile["repeat"]),
        profile["transfers"], profile["seconds"], expected_faults=2 * profile["repeat"])


def test_kafka_killed_and_restarted(stack, record_tally, profile):
    """Issue 3: Kafka away while transfers keep succeeding; broker back; all events arrive."""
    during = {}

    def inject(stack, load):
        n = 0
        for _ in range(profile["repeat"]):
            load.wait_for(load.count("committed") + 100, timeout=30)
            if load.done():
                break
            stack.kill9("kafka")
            n += 1
            t = time.monotonic()
            time.sleep(3)
            during[n] = committed_since(load, t)
            stack.restart()
        return n

    def hook(sc, load, tally):
        assert all(v > 0 for v in during.values()), "no transfer committed while Kafka was down: %s" % during
        assert tally.f["unavailable"] == 0 and tally.f["unknown"] == 0, load.summary()

    run(stack, record_tally, "kafka_kill9_restart", inject, profile["transfers"] * 2,
        profile["seconds"], scenario_hook=hook, expected_faults=profile["repeat"])


def test_kafka_paused(stack, record_tally, profile):
    """SIGSTOP the broker for 10 s (connections hang rather than fail), then SIGCONT."""
    during = {}

    def inject(stack, load):
        load.wait_for(100, timeout=30)
        stack.signal("kafka", signal.SIGSTOP)
        t = time.monotonic()
        try:
            time.sleep(profile["pause_s"])
            during["n"] = committed_since(load, t)
        finally:
            stack.signal("kafka", signal.SIGCONT)
        return 1

    def hook(sc, load, tally):
        assert during["n"] > 0, "no transfer committed while Kafka was paused"
        assert tally.f["unavailable"] == 0 and tally.f["unknown"] == 0, load.summary()

    # The load must outlast the pause: bounded by time, not by the count.
    run(stack, record_tally, "kafka_sigstop", inject, profile["transfers"] * 20,
        profile["pause_s"] + 5, clients=8, scenario_hook=hook)


@pytest.mark.parametrize("db", ["wallet-db", "balances-db"])
def test_mariadb_killed_and_restarted(stack, record_tally, profile, db):
    """Each database killed -9 while requests continue: 503s or resets, never hangs; the
    services reconnect by themselves."""
    recovered = {}

    def inject(stack, load):
        n = 0
        for _ in range(profile["repeat"]):
            load.wait_for(load.count("committed") + 100, timeout=30)
            if load.done():
                break
            stack.kill9(db)
            n += 1
            time.sleep(2)
            stack.restart()
            t = time.monotonic()
            deadline = t + 30
            while committed_since(load, t) < 20 and time.monotonic() < deadline and not load.done():
                time.sleep(0.05)
            if not load.done():  # the load had budget left to show the recovery
                recovered[n] = committed_since(load, t)
        return n

    def hook(sc, load, tally):
        assert all(v > 0 for v in recovered.values()), "no transfer committed after %s came back: %s" % (db, recovered)

    run(stack, record_tally, "kill9_" + db.replace("-", "_"), inject,
        profile["transfers"], profile["seconds"], scenario_hook=hook,
        expected_faults=profile["repeat"])


def test_two_instances_one_of_each_killed(stack, record_tally, profile):
    """Two wallet-core and two balances on one database each; the first of each killed -9
    mid-load; the survivors carry on (relay leadership and partitions move over)."""
    stack.start_extra("wallet-core")
    stack.start_extra("balances")
    killed_at = {}

    def inject(stack, load):
        load.wait_for(150, timeout=30)
        stack.kill9("wallet-core")
        stack.kill9("balances")
        killed_at["t"] = time.monotonic()
        # Survivors alone for a while: their work must still reach Kafka and the read model.
        deadline = time.monotonic() + 20
        while committed_since(load, killed_at["t"]) < 100 and time.monotonic() < deadline \
                and not load.done():
            time.sleep(0.05)
        return 2

    def hook(sc, load, tally):
        assert committed_since(load, killed_at["t"]) > 0, "the surviving wallet-core committed nothing"

    urls = [stack.url("wallet-core"), stack.url("wallet-core-2")]
    try:
        run(stack, record_tally, "two_instances", inject, profile["transfers"], profile["seconds"],
            urls=urls, scenario_hook=hook)
    finally:
        for n in list(stack.extra):
            stack.stop_extra(n)
