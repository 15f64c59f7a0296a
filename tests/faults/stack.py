"""stack: a private native stack (tools/stack on ports of its own) that a test can break.

Starts and stops the whole topology through tools/stack, and acts on single parts through
the pid files tools/stack keeps in STACK_DIR: kill -9, SIGSTOP/SIGCONT, restart (`up`
restarts whatever is not running). Extra wallet-core/balances instances (the two-instance
scenario) run with the same environment as tools/stack gives the first ones, on extra
ports, with their own pid and log files. Loopback only.
"""
import json
import os
import signal
import subprocess
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("WALLET_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


class StackError(RuntimeError):
    pass


class Stack:
    """Ports derive from FAULTS_BASE_PORT (default 24000): wallet +80, balances +3, Kafka +92
    (controller +93), wallet-db +306, balances-db +307, second instances +81 and +4."""

    def __init__(self, build_dir=None, stack_dir=None, base_port=None):
        base = int(base_port or os.environ.get("FAULTS_BASE_PORT", "24000"))
        self.build_dir = os.path.abspath(build_dir or os.environ.get("BUILD_DIR") or
                                         os.path.join(ROOT, "build"))
        self.stack_dir = os.path.abspath(stack_dir or os.environ.get("FAULTS_STACK_DIR") or
                                         os.path.join(ROOT, ".run", "stack-faults"))
        self.ports = {
            "wallet-core": base + 80, "balances": base + 3, "kafka": base + 92,
            "kafka-controller": base + 93, "wallet-db": base + 306, "balances-db": base + 307,
            "wallet-core-2": base + 81, "balances-2": base + 4,
        }
        self.extra = {}  # name -> Popen of extra instances
        self.log_marks = {}

    # ---- environment and URLs

    def env(self):
        e = dict(os.environ)
        e.update({
            "STACK_DIR": self.stack_dir, "BUILD_DIR": self.build_dir, "STACK_SKIP_DEPS": "1",
            "WALLET_HTTP_PORT": str(self.ports["wallet-core"]),
            "BALANCES_HTTP_PORT": str(self.ports["balances"]),
            "KAFKA_HOST_PORT": str(self.ports["kafka"]),
            "KAFKA_CONTROLLER_PORT": str(self.ports["kafka-controller"]),
            "WALLET_DB_HOST_PORT": str(self.ports["wallet-db"]),
            "BALANCES_DB_HOST_PORT": str(self.ports["balances-db"]),
            "STACK_READY_TIMEOUT": e.get("STACK_READY_TIMEOUT", "120"),
        })
        # kill -9 leaves no leak report; a clean stop must not have one either.
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        return e

    def url(self, name):
        return "http://127.0.0.1:%d" % self.ports[name]

    @property
    def brokers(self):
        return "127.0.0.1:%d" % self.ports["kafka"]

    def bin(self, name):
        return os.path.join(self.build_dir, "bin", name)

    # ---- whole stack

    def tools_stack(self, *args, timeout=240, check=True):
        p = subprocess.run([os.path.join(ROOT, "tools", "stack")] + list(args), cwd=ROOT,
                           env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, text=True)
        if check and p.returncode != 0:
            raise StackError("tools/stack %s failed (%d):\n%s" % (" ".join(args), p.returncode,
                                                                  p.stdout[-4000:]))
        return p

    def up(self, timeout=240):
        return self.tools_stack("up", timeout=timeout)

    def down(self):
        for name in list(self.extra):
            self.stop_extra(name)
        return self.tools_stack("down", timeout=180, check=False)

    def fresh(self):
        """A clean stack: stops a leftover one and wipes its state first."""
        self.down()
        subprocess.run(["rm", "-rf", self.stack_dir], check=True)
        self.up()
        self.mark_logs()

    # ---- parts

    def pidfile(self, part):
        if part in ("wallet-db", "balances-db"):
            return os.path.join(self.stack_dir, part, "mariadb.pid")
        if part == "kafka":
            return os.path.join(self.stack_dir, "kafka", "kafka.pid")
        return os.path.join(self.stack_dir, part + ".pid")

    def pid(self, part):
        if part in self.extra:
            return self.extra[part].pid
        try:
            with open(self.pidfile(part)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def alive(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def signal(self, part, sig):
        pid = self.pid(part)
        if pid is None or not self.alive(pid):
            raise StackError("%s is not running" % part)
        os.kill(pid, sig)
        return pid

    def kill9(self, part):
        pid = self.signal(part, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while self.alive(pid):
            if part in self.extra:
                self.extra[part].poll()
            if time.monotonic() > deadline:
                raise StackError("%s (pid %d) survived SIGKILL" % (part, pid))
            time.sleep(0.05)
        if part in self.extra:
            self.extra[part].wait(timeout=5)
            del self.extra[part]

    def stop(self, part):
        self.signal(part, signal.SIGSTOP)

    def cont(self, part):
        self.signal(part, signal.SIGCONT)

    def restart(self):
        """tools/stack up starts whatever is not running and waits for readiness."""
        return self.up()

    # ---- extra instances of a service (same DB/broker, other HTTP port)

    def service_env(self, service, port):
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        common = {"HTTP_ADDR": "127.0.0.1", "HTTP_PORT": str(port), "DB_HOST": "127.0.0.1",
                  "DB_POOL_SIZE": "32", "KAFKA_BROKERS": self.brokers, "TOPIC_PARTITIONS": "3",
                  "TOPIC_REPLICATION": "1", "LOG_LEVEL": "info"}
        e.update(common)
        if service == "wallet-core":
            e.update({"DB_PORT": str(self.ports["wallet-db"]), "DB_USER": "wallet",
                      "DB_PASSWORD": "wallet", "DB_NAME": "wallet",
                      "MIGRATIONS_DIR": os.path.join(ROOT, "migrations", "wallet-core"),
                      "TOPIC_TRANSACTIONS": "transactions", "TOPIC_BALANCES": "balances"})
        else:
            e.update({"DB_PORT": str(self.ports["balances-db"]), "DB_USER": "balances",
                      "DB_PASSWORD": "balances", "DB_NAME": "balances",
                      "MIGRATIONS_DIR": os.path.join(ROOT, "migrations", "balances"),
                      "KAFKA_GROUP": "balances", "MIN_VERSION_WAIT_MS": "2000"})
        return e

    def start_extra(self, service, timeout=90, env=None):
        """A second instance of SERVICE; ENV (a dict) adds to or overrides its settings."""
        name = service + "-2"
        port = self.ports[name]
        log = open(os.path.join(self.stack_dir, "logs", name + ".log"), "ab")
        log.write(b"\n==== %s start\n" % name.encode())
        log.flush()
        e = self.service_env(service, port)
        e.update(env or {})
        p = subprocess.Popen([self.bin(service)], cwd=ROOT, env=e,
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log.close()
        self.extra[name] = p
        self.wait_ready(name, timeout)
        return name

    def stop_extra(self, name):
        p = self.extra.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def wait_ready(self, name, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if name in self.extra and self.extra[name].poll() is not None:
                raise StackError("%s exited with %s during start" % (name, self.extra[name].returncode))
            if http_status(self.url(name) + "/readyz") == 200:
                return
            time.sleep(0.3)
        raise StackError("%s not ready after %ss" % (name, timeout))

    # ---- databases

    def sql(self, part, query, timeout=30):
        """Rows of QUERY as root on the part's server (lists of strings; NULL is None)."""
        p = subprocess.run(["mariadb", "-h127.0.0.1", "-P%d" % self.ports[part], "-uroot", "-N",
                            "-B", "--connect-timeout=5",
                            "-D", {"wallet-db": "wallet", "balances-db": "balances"}[part],
                            "-e", query],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           text=True)
        if p.returncode != 0:
            raise StackError("%s: %s" % (part, p.stderr.strip()))
        rows = []
        for line in p.stdout.splitlines():
            rows.append([None if c == "NULL" else c for c in line.split("\t")])
        return rows

    # ---- logs

    def log_files(self):
        d = os.path.join(self.stack_dir, "logs")
        out = []
        for n in ("wallet-core.log", "balances.log", "wallet-core-2.log", "balances-2.log"):
            p = os.path.join(d, n)
            if os.path.exists(p):
                out.append(p)
        return out

    def mark_logs(self):
        self.log_marks = {p: os.path.getsize(p) for p in self.log_files()}

    def sanitizer_reports(self, since_mark=True):
        """Lines around any ASan/LSan/UBSan report written since mark_logs()."""
        found = []
        for p in self.log_files():
            with open(p, "rb") as f:
                if since_mark:
                    f.seek(self.log_marks.get(p, 0))
                text = f.read().decode("utf-8", "replace")
            lines = text.splitlines()
            for i, line in enumerate(lines):
                if any(m in line for m in SANITIZER_MARKERS):
                    found.append("%s: %s" % (os.path.basename(p), "\n".join(lines[i:i + 12])))
                    break
        return found

    def metrics(self, name):
        """Prometheus text of NAME's /metrics as {series: value}."""
        out = {}
        try:
            with urllib.request.urlopen(self.url(name) + "/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
        return out

    # ---- Kafka

    def events(self, topics=("transactions", "balances"), timeout=120):
        """Every record of TOPICS, as eventcat's JSON objects."""
        cmd = [self.bin("eventcat"), "-b", self.brokers, "-e", "-o", "beginning", "-q", "-m", "30"]
        for t in topics:
            cmd += ["-t", t]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        if p.returncode != 0:
            raise StackError("eventcat failed (%d): %s" % (p.returncode, p.stderr.decode()[-2000:]))
        return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def http_status(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None
