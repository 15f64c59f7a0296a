"""test_cluster: fault scenarios on a three-node Kafka cluster (RF=3, min.insync.replicas=2)
with three balances instances (issue 15). Same load, checker and tally as test_faults; each
scenario also reports the longest stall (the longest gap with no transfer answered 2xx).

Its own tools/stack (KAFKA_NODES=3 BALANCES_INSTANCES=3) on FAULTS_BASE_PORT+600.., STACK_DIR
.run/stack-faults-cluster. The short profile (tools/test) runs two scenarios; the long one
(tools/faults) all of them."""
import os
import signal
import time

import pytest

import stack as stack_mod
from checker import Scenario
from conftest import PROFILE_NAME, TALLIES
from load import Load

MAX_LATENCY_S = 15.0
SHORT = {"kill9_leader_broker", "kill9_one_of_three_balances"}


class ClusterStack(stack_mod.Stack):
    NODES = 3

    def __init__(self):
        base = int(os.environ.get("FAULTS_BASE_PORT", "24000")) + 600
        super().__init__(base_port=base, stack_dir=os.path.join(
            stack_mod.ROOT, ".run", "stack-faults-cluster"))
        self.ports.update({"kafka-controller": base + 95, "kafka-2": base + 93, "kafka-3": base + 94,
                           "balances-3": base + 5})

    def env(self):
        e = super().env()
        e.update({"KAFKA_NODES": "3", "BALANCES_INSTANCES": "3", "WALLET_INSTANCES": "1"})
        return e

    @property
    def brokers(self):
        return ",".join("127.0.0.1:%d" % self.ports[n] for n in ("kafka", "kafka-2", "kafka-3"))

    def pidfile(self, part):
        if part.startswith("kafka"):
            return os.path.join(self.stack_dir, part, "kafka.pid")
        return super().pidfile(part)

    def log_files(self):
        d = os.path.join(self.stack_dir, "logs")
        return [os.path.join(d, n) for n in sorted(os.listdir(d))
                if n.endswith(".log") and not n.startswith(("kafka", "wallet-db", "balances-db"))] \
            if os.path.isdir(d) else []

    def leader_of_most(self, topic="balances"):
        """The node leading most partitions of TOPIC (from kcat's metadata)."""
        import subprocess
        out = subprocess.run(["kcat", "-b", self.brokers, "-L", "-t", topic], capture_output=True,
                             text=True, timeout=30).stdout
        counts = {}
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("partition ") and "leader " in line:
                leader = int(line.split("leader ")[1].split(",")[0])
                counts[leader] = counts.get(leader, 0) + 1
        node = max(counts, key=counts.get)
        return "kafka" if node == 1 else "kafka-%d" % node


@pytest.fixture(scope="module")
def cluster():
    s = ClusterStack()
    s.fresh()
    yield s
    s.down()
    reports = s.sanitizer_reports(since_mark=False)
    if reports:
        pytest.fail("sanitizer reports in service logs:\n" + "\n".join(reports), pytrace=False)


def longest_stall(load):
    """Longest gap between two consecutive 2xx answers (by answer time), in seconds."""
    with load.lock:
        ends = sorted(o.started + o.latency for o in load.outcomes if o.kind == "committed")
    return max((b - a for a, b in zip(ends, ends[1:])), default=0.0)


def run(cluster, profile, name, inject):
    if PROFILE_NAME == "short" and name not in SHORT:
        pytest.skip("long profile only (tools/faults)")
    sc = Scenario(cluster, name).setup()
    transfers = profile["transfers"]
    load = Load([cluster.url("wallet-core")], sc.accounts, clients=32, transfers=transfers * 20,
                seconds=profile["seconds"] + 30)
    load.start()
    try:
        faults = inject(cluster, load)
        while load.count() < transfers and not load.done():
            time.sleep(0.05)
        load.stop_flag.set()
    finally:
        load.join()
    cluster.restart()
    tally = sc.check(load.outcomes, faults)
    stall = longest_stall(load)
    line = tally.line() + " longest_stall_s=%.2f" % stall
    TALLIES.append(line)
    with open(os.path.join(cluster.stack_dir, "tally.log"), "a") as f:
        f.write(line + "\n")
    print(line)
    assert faults > 0, line
    assert not tally.failed(), "\n".join([line] + tally.problems)
    assert tally.max_latency < MAX_LATENCY_S, line
    # With two of three brokers up there is always a quorum and a leader: no 5xx at all.
    assert tally.f["error5xx"] == 0, [o.error for o in load.outcomes if o.kind == "error5xx"][:5]
    sc.sweep()


def wait_committed(load, n, timeout=30):
    load.wait_for(load.count("committed") + n, timeout=timeout)


def test_kill9_leader_broker(cluster, profile):
    """kill -9 the broker leading most balances partitions; leadership moves; restart it."""
    def inject(c, load):
        n = 0
        for _ in range(profile["repeat"]):
            wait_committed(load, 100)
            c.kill9(c.leader_of_most())
            n += 1
            wait_committed(load, 200, timeout=60)  # carries on with two brokers
            c.restart()
        return n
    run(cluster, profile, "kill9_leader_broker", inject)


def test_sigstop_broker(cluster, profile):
    """SIGSTOP one broker past the session timeouts (broker 9 s, consumer 10 s), then SIGCONT."""
    def inject(c, load):
        wait_committed(load, 100)
        victim = c.leader_of_most()
        c.signal(victim, signal.SIGSTOP)
        try:
            time.sleep(15)
        finally:
            c.signal(victim, signal.SIGCONT)
        return 1
    run(cluster, profile, "sigstop_broker", inject)


def test_rolling_restart(cluster, profile):
    """Each broker in turn: SIGTERM (clean stop), start again, wait for the cluster."""
    def inject(c, load):
        n = 0
        for node in ("kafka", "kafka-2", "kafka-3"):
            wait_committed(load, 100)
            stack_mod.subprocess.run(["kill", "-TERM", str(c.pid(node))], check=True)
            deadline = time.monotonic() + 60
            while c.alive(c.pid(node)) and time.monotonic() < deadline:
                time.sleep(0.2)
            c.restart()
            n += 1
        return n
    run(cluster, profile, "rolling_restart", inject)


def test_kill9_one_of_three_balances(cluster, profile):
    """kill -9 one of three balances instances (its partitions move), start it again."""
    def inject(c, load):
        n = 0
        for _ in range(profile["repeat"]):
            wait_committed(load, 100)
            c.kill9("balances-2")
            n += 1
            time.sleep(12)  # past the consumer session timeout: the group rebalances
            c.restart()
        return n
    run(cluster, profile, "kill9_one_of_three_balances", inject)
