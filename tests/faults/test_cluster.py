"""test_cluster: fault scenarios on a three-node Kafka cluster (RF=3, min.insync.replicas=2)
with three balances and two wallet-core instances (issue 15). Same load, checker and tally as test_faults; each
scenario also reports the longest stall (the longest gap with no transfer answered 2xx).

Its own tools/stack (KAFKA_NODES=3 BALANCES_INSTANCES=3) on FAULTS_BASE_PORT+600.., STACK_DIR
.run/stack-faults-cluster. The short profile (tools/test) runs two scenarios; the long one
(tools/faults) all of them.

Two wallet-core instances (the relay-lock scenario needs the second; the others load the
first only). Run one scenario with `tools/faults -k NAME` (tools/faults already passes
tests/faults: naming the file as well collects it twice)."""
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
EXTRA = {}  # scenario -> more figures for its tally line


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
        e.update({"KAFKA_NODES": "3", "BALANCES_INSTANCES": "3", "WALLET_INSTANCES": "2"})
        return e

    @property
    def brokers(self):
        return ",".join("127.0.0.1:%d" % self.ports[n] for n in ("kafka", "kafka-2", "kafka-3"))

    def fresh(self):
        """As Stack.fresh, but the previous run's state and logs are kept in STACK_DIR.prev
        (a failed run's Kafka logs are what explains it)."""
        self.down()
        prev = self.stack_dir + ".prev"
        stack_mod.subprocess.run(["rm", "-rf", prev], check=True)
        if os.path.isdir(self.stack_dir):
            os.rename(self.stack_dir, prev)
        self.up()
        self.mark_logs()

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
        return self.node_part(node)

    @staticmethod
    def node_part(node_id):
        return "kafka" if node_id == 1 else "kafka-%d" % node_id

    def active_controller(self):
        """The part of the active KRaft controller (the quorum's LeaderId, from kafka-tools'
        MetadataQuorumCommand describe --status against the running brokers)."""
        import glob
        import subprocess
        libs = sorted(glob.glob(os.path.expanduser("~/.cache/wallet-eda/kafka-*/libs")))
        libs = os.environ.get("KAFKA_LIBS") or (libs[-1] if libs else None)
        if not libs:
            raise stack_mod.StackError("no Kafka jars (tools/stack fetches them)")
        for _ in range(10):
            p = subprocess.run(["java", "-Xmx128m", "-cp", libs + "/*",
                                "-Dlog4j2.level=ERROR",
                                "org.apache.kafka.tools.MetadataQuorumCommand",
                                "--bootstrap-server", self.brokers, "describe", "--status"],
                               capture_output=True, text=True, timeout=60)
            for line in p.stdout.splitlines():
                if line.startswith("LeaderId:"):
                    leader = int(line.split(":", 1)[1])
                    if leader >= 1:
                        return self.node_part(leader)
            time.sleep(1)
        raise stack_mod.StackError("no quorum leader: %s %s" % (p.stdout[-500:], p.stderr[-500:]))

    RELAY_LOCK = "wallet_outbox_relay:wallet"

    def relay_holder(self):
        """The wallet-core part holding the outbox relay's lock (GET_LOCK in
        wallet-core/outbox_relay.c), or None: the lock's connection id -> its client port in
        the processlist -> the process owning that local socket (ss) -> the part's pid."""
        import subprocess
        rows = self.sql("wallet-db", "SELECT p.HOST FROM information_schema.PROCESSLIST p "
                        "WHERE p.ID = IS_USED_LOCK('%s')" % self.RELAY_LOCK)
        if not rows or not rows[0][0] or ":" not in rows[0][0]:
            return None
        port = int(rows[0][0].rsplit(":", 1)[1])
        out = subprocess.run(["ss", "-Htnp", "state", "established", "( sport = :%d )" % port],
                             capture_output=True, text=True, timeout=10).stdout
        for part in ("wallet-core", "wallet-core-2"):
            pid = self.pid(part)
            if pid is not None and ("pid=%d," % pid) in out:
                return part
        return None

    def wait_relay_holder(self, other_than=None, timeout=60):
        """Polls until a live wallet-core part other than OTHER_THAN holds the lock; returns
        (part, seconds waited)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            part = self.relay_holder()
            if part is not None and part != other_than:
                return part, time.monotonic() - t0
            time.sleep(0.1)
        raise stack_mod.StackError("no wallet-core took the relay lock within %ss" % timeout)


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


def run(cluster, profile, name, inject, urls=None):
    if PROFILE_NAME == "short" and name not in SHORT:
        pytest.skip("long profile only (tools/faults)")
    sc = Scenario(cluster, name).setup()
    transfers = profile["transfers"]
    load = Load(urls or [cluster.url("wallet-core")], sc.accounts, clients=32, transfers=transfers * 20,
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
    line = tally.line() + " longest_stall_s=%.2f" % stall + EXTRA.pop(name, "")
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


def test_kill9_active_controller(cluster, profile):
    """kill -9 the active KRaft controller (the quorum leader; every node is broker+controller,
    so a broker goes with it); the two others elect a new one; restart it."""
    def inject(c, load):
        n, victims = 0, []
        for _ in range(profile["repeat"]):
            wait_committed(load, 100)
            victim = c.active_controller()
            victims.append(victim)
            c.kill9(victim)
            n += 1
            wait_committed(load, 200, timeout=60)
            new = c.active_controller()  # a new leader exists among the two left
            assert new != victim, (victim, new)
            c.restart()
        EXTRA["kill9_active_controller"] = " killed=" + ",".join(victims)
        return n
    run(cluster, profile, "kill9_active_controller", inject)


def test_kill9_relay_holder_broker_down(cluster, profile):
    """With one broker down (kill -9, the leader of most transactions partitions), kill -9
    the wallet-core instance holding the outbox relay lock; the other instance takes the
    lock and relays (still with two brokers); then the broker and the instance come back.
    The load goes to both instances."""
    def inject(c, load):
        n, notes = 0, []
        for _ in range(profile["repeat"]):
            wait_committed(load, 100)
            broker = c.leader_of_most("transactions")
            c.kill9(broker)
            wait_committed(load, 100, timeout=60)
            holder, _ = c.wait_relay_holder()
            c.kill9(holder)
            n += 1
            new, took = c.wait_relay_holder(other_than=holder)
            notes.append("%s/%s->%s:%.1fs" % (broker, holder, new, took))
            wait_committed(load, 200, timeout=60)  # relayed by the other instance
            c.restart()  # the broker and the killed instance
        EXTRA["kill9_relay_holder_broker_down"] = " takeover=" + ",".join(notes)
        return n
    run(cluster, profile, "kill9_relay_holder_broker_down", inject,
        urls=[cluster.url("wallet-core"), cluster.url("wallet-core-2")])
