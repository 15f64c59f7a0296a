#!/usr/bin/env python3
"""test_static: checks of docker-compose.yml, the Dockerfile, .env, kafka-ui's config,
tools/stack and api/client.http that need no Docker engine.

    tests/e2e/test_static.py [--bin-dir DIR]...

--bin-dir names folders of built binaries (the Release build the image makes): their
shared libraries must all come from tools/deps/runtime.txt (or what those packages and
debian:bookworm-slim bring). Prints one line per check and `N passed, N failed`.
Needs python3-yaml (tools/deps/test.txt).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import run_client_http  # noqa: E402  (the same parser the e2e run uses)

# What the README promises: service -> (published host port, container port).
PROMISED = {
    "wallet-core": (8080, 8080),
    "balances": (3003, 3003),
    "kafka": (9092, 9092),
    "kafka-ui": (8088, 8080),
    "wallet-db": (3306, 3306),
    "balances-db": (3307, 3306),
}
# Services built from our Dockerfile, the source folders whose env reads they carry, and
# the programs that run in them (eventcat runs in both through `docker compose exec`).
OUR_SERVICES = {
    "wallet-core": ["wallet-core", "runtime", "tools/eventcat"],
    "balances": ["balances", "runtime", "tools/eventcat"],
}
# Healthcheck programs of third-party images, known from each image's build:
#   mariadb (official image): /usr/local/bin/healthcheck.sh, since 2023-06
#   apache/kafka: the release tarball unpacked in /opt/kafka
#   kafbat/kafka-ui: Alpine base (azul/zulu-openjdk-alpine), busybox wget
IMAGE_TOOLS = {
    "mariadb": {"healthcheck.sh"},
    "apache/kafka": {"/opt/kafka/bin/kafka-broker-api-versions.sh"},
    "ghcr.io/kafbat/kafka-ui": {"wget"},
}
# Program -> Debian package, for healthchecks of our image.
PROGRAM_PACKAGE = {"curl": "curl", "wget": "wget"}
ENV_READ = re.compile(r'\b(?:getenv|config_str|config_int)\s*\(\s*"([A-Z][A-Z0-9_]*)"')
TOPICS = {"transactions": "wallet.v1.TransactionCreated", "balances": "wallet.v1.BalanceUpdated"}

results = []  # (ok: bool|None, name, detail)


def check(name):
    def wrap(fn):
        def run(*a):
            try:
                detail = fn(*a)
                if detail and detail.startswith("SKIP"):
                    results.append((None, name, detail[4:].strip(" :")))
                else:
                    results.append((True, name, detail or ""))
            except AssertionError as e:
                results.append((False, name, str(e)))
            except Exception as e:  # a crash in a check is a failure of that check
                results.append((False, name, f"{type(e).__name__}: {e}"))
        run.__name__ = fn.__name__
        return run
    return wrap


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def load_env_file():
    env = {}
    for line in read(".env").splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m and not line.lstrip().startswith("#"):
            env[m.group(1)] = m.group(2)
    return env


INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(value, env):
    """Compose's ${VAR:-default} with .env values (the shell is ignored: defaults only)."""
    if not isinstance(value, str):
        return value
    return INTERP.sub(lambda m: env.get(m.group(1), m.group(2) or ""), value)


def compose():
    with open(os.path.join(ROOT, "docker-compose.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def healthcheck_program(test):
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    kind, rest = test[0], test[1:]
    if kind == "CMD":
        return rest[0]
    if kind == "CMD-SHELL":
        return rest[0].split()[0]
    raise AssertionError(f"healthcheck test {test!r} is neither CMD nor CMD-SHELL")


def deps_list(name):
    out = []
    for line in read(f"tools/deps/{name}.txt").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def env_reads(folder):
    names = set()
    for path in glob.glob(os.path.join(ROOT, folder, "**", "*.c"), recursive=True):
        with open(path, encoding="utf-8", errors="replace") as f:
            names.update(ENV_READ.findall(f.read()))
    return names


def our_image(c):
    """The tag of the image our Dockerfile builds (the one service with build:)."""
    built = {svc.get("image") for svc in c["services"].values() if "build" in svc}
    return built.pop() if len(built) == 1 else None


def one_shots(c):
    """Services that run once and exit: restart "no", no published port, healthcheck off."""
    return {n for n, svc in c["services"].items()
            if svc.get("restart") == "no" and not svc.get("ports")
            and (svc.get("healthcheck") or {}).get("disable")}


# ---------------------------------------------------------------- the checks

@check("compose file parses as YAML with services and volumes")
def t_parses():
    c = compose()
    assert isinstance(c, dict) and isinstance(c.get("services"), dict), "no services mapping"
    assert "version" not in c, "obsolete top-level 'version' key"
    return f"{len(c['services'])} services"


def _merge(base, over):
    """compose's -f merge for what the cluster file uses: mappings key by key, ports appended."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        elif k == "ports" and isinstance(out.get(k), list):
            out[k] = out[k] + v
        else:
            out[k] = v
    return out


@check("docker-compose.cluster.yml: three KRaft voters, RF=3, every instance complete and on its own port")
def t_compose_cluster():
    with open(os.path.join(ROOT, "docker-compose.cluster.yml"), encoding="utf-8") as f:
        over = yaml.safe_load(f)
    c = _merge(compose(), {k: v for k, v in over.items() if not k.startswith("x-")})
    svcs = c["services"]
    nodes = ["kafka", "kafka-2", "kafka-3"]
    ids, voters, cids = set(), set(), set()
    for n in nodes:
        e = env_of(svcs[n])
        ids.add(e["KAFKA_NODE_ID"])
        voters.add(e["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        cids.add(e["CLUSTER_ID"])
        assert e["KAFKA_MIN_INSYNC_REPLICAS"] == "2" and e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3", n
        assert f"PLAINTEXT://{n}:19092" in e["KAFKA_ADVERTISED_LISTENERS"], n
    assert ids == {"1", "2", "3"} and len(voters) == 1 and len(cids) == 1, (ids, voters, cids)
    assert voters.pop() == "1@kafka:29093,2@kafka-2:29093,3@kafka-3:29093"
    for name, base in (("wallet-core-2", "wallet-core"), ("balances-2", "balances"),
                       ("balances-3", "balances")):
        missing = set(env_of(svcs[base])) - set(env_of(svcs[name]))
        assert not missing, f"{name} lacks {sorted(missing)}"
    for name in ("wallet-core", "wallet-core-2", "balances", "balances-2", "balances-3"):
        e = env_of(svcs[name])
        assert e["KAFKA_BROKERS"] == "kafka:19092,kafka-2:19092,kafka-3:19092", name
        assert str(e["TOPIC_REPLICATION"]) == "3", name
        assert set(nodes) <= set(svcs[name]["depends_on"]), name
    published = [p.rsplit(":", 1)[0] for s in svcs.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), f"a host port published twice: {published}"
    for v in ("kafka-2-data", "kafka-3-data"):
        assert v in c["volumes"], v
    return f"{len(svcs)} services with the override"


@check("compose file validates with a compose implementation")
def t_compose_config():
    for cmd in (["docker", "compose", "config", "-q"], ["docker-compose", "config", "-q"]):
        if cmd[0] == "docker" and shutil.which("docker"):
            probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
            if probe.returncode != 0:
                continue
        elif not shutil.which(cmd[0]):
            continue
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{' '.join(cmd)}: {r.stderr.strip()[:500]}"
        return " ".join(cmd[:-1])
    return "SKIP: neither `docker compose` nor `docker-compose` is installed"


@check("every promised service exists and publishes its port")
def t_ports():
    c, env = compose(), load_env_file()
    problems = []
    for name, (host, container) in PROMISED.items():
        svc = c["services"].get(name)
        if svc is None:
            problems.append(f"{name}: missing")
            continue
        found = False
        for p in svc.get("ports") or []:
            parts = interpolate(str(p), env).split("/")[0].split(":")
            if len(parts) >= 2 and parts[-2] == str(host) and parts[-1] == str(container):
                found = True
        if not found:
            problems.append(f"{name}: no {host}:{container} in {svc.get('ports')}")
    assert not problems, "; ".join(problems)
    return ", ".join(f"{n} {h}" for n, (h, _) in PROMISED.items())


@check("ports the README mentions are published by compose")
def t_readme_ports():
    path = os.path.join(ROOT, "README.md")
    if not os.path.exists(path):
        return "SKIP: no README.md yet"
    published = {h for h, _ in PROMISED.values()}
    mentioned = {int(p) for p in re.findall(r"localhost:(\d{2,5})", read("README.md"))}
    stray = sorted(mentioned - published)
    assert not stray, f"README mentions localhost ports compose does not publish: {stray}"
    return f"{sorted(mentioned)}"


@check("every long-running service has a healthcheck whose program is in its image")
def t_healthchecks():
    c = compose()
    runtime = set(deps_list("runtime"))
    problems = []
    ours = our_image(c)
    for name, svc in c["services"].items():
        hc = svc.get("healthcheck")
        if svc.get("restart") == "no" and name in one_shots(c):
            continue  # a one-shot exits: it has nothing to be healthy about
        if not hc or hc.get("disable") or not hc.get("test"):
            problems.append(f"{name}: no healthcheck")
            continue
        prog = healthcheck_program(hc["test"])
        if svc.get("image") == ours:
            pkg = PROGRAM_PACKAGE.get(prog)
            if pkg not in runtime:
                problems.append(f"{name}: {prog} is not installed by tools/deps/runtime.txt")
            continue
        repo = svc["image"].rsplit(":", 1)[0]
        if prog not in IMAGE_TOOLS.get(repo, set()):
            problems.append(f"{name}: {prog} is not known to exist in {svc['image']}")
    assert not problems, "; ".join(problems)


@check("our image's healthchecks and Dockerfile HEALTHCHECK ask /readyz on the service's port")
def t_readyz():
    c = compose()
    for name in OUR_SERVICES:
        svc = c["services"][name]
        port = str(env_of(svc)["HTTP_PORT"])
        test = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/readyz" in test, f"{name}: healthcheck {test!r} misses port {port}"
    df = read("docker/Dockerfile")
    assert re.search(r"HEALTHCHECK .*\n?.*curl .*\$\{HTTP_PORT[^}]*\}/readyz", df), \
        "Dockerfile HEALTHCHECK does not curl /readyz on HTTP_PORT"


@check("every env var the C code reads has a value in compose and in tools/stack")
def t_env():
    c = compose()
    stack = read("tools/stack")
    problems, skipped, counted = [], [], 0
    for name, folders in OUR_SERVICES.items():
        if not os.path.exists(os.path.join(ROOT, name, "main.c")):
            skipped.append(name)
            continue
        reads = set()
        for folder in folders:
            reads |= env_reads(folder)
        env = env_of(c["services"][name])
        counted += len(reads)
        for var in sorted(reads):
            if env.get(var) in (None, ""):
                problems.append(f"{name}: {var} has no value in compose")
            if not re.search(rf"\b{var}=", stack):
                problems.append(f"{name}: tools/stack does not set {var}")
        own = env_reads(name) | env_reads("runtime") | env_reads("tools/eventcat")
        for var in sorted(set(env) - own):
            problems.append(f"{name}: compose sets {var}, which no code reads")
    assert not problems, "; ".join(problems)
    if skipped and counted == 0:
        return f"SKIP: no main.c yet in {', '.join(skipped)}"
    return f"{counted} reads checked" + (f" (not yet written: {', '.join(skipped)})" if skipped else "")


@check("images are pinned (no latest, no bare names) and match the tested versions")
def t_pinned():
    c = compose()
    problems = []
    for name, svc in c["services"].items():
        image = svc.get("image")
        if image is None:
            problems.append(f"{name}: no image name")
            continue
        last = image.rsplit("/", 1)[-1]
        if ":" not in last or last.endswith(":latest"):
            problems.append(f"{name}: {image} is not pinned")
    for line in read("docker/Dockerfile").splitlines():
        m = re.match(r"^FROM\s+(\S+)", line)
        if m and (":" not in m.group(1) or m.group(1).endswith(":latest")):
            problems.append(f"Dockerfile: FROM {m.group(1)} is not pinned")
    kafka_v = re.search(r"<kafka.version>([^<]+)</kafka.version>", read("tools/kafka/pom.xml")).group(1)
    if c["services"]["kafka"]["image"] != f"apache/kafka:{kafka_v}":
        problems.append(f"kafka image {c['services']['kafka']['image']} != apache/kafka:{kafka_v} (pom.xml)")
    for db in ("wallet-db", "balances-db"):
        if not c["services"][db]["image"].startswith("mariadb:10.11"):
            problems.append(f"{db}: not mariadb 10.11 (the tests' server)")
    if shutil.which("mariadbd"):
        v = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True).stdout
        if "10.11" not in v:
            problems.append(f"native mariadbd is not 10.11: {v.strip()}")
    assert not problems, "; ".join(problems)
    return f"kafka {kafka_v}"


@check("depends_on waits for healthy services, on services that exist")
def t_depends():
    c = compose()
    problems = []
    for name, svc in c["services"].items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            problems.append(f"{name}: depends_on without conditions")
            continue
        for dep, cond in deps.items():
            if dep not in c["services"]:
                problems.append(f"{name}: depends on unknown {dep}")
            if (cond or {}).get("condition") not in ("service_healthy", "service_completed_successfully"):
                problems.append(f"{name} -> {dep}: condition {cond}")
    for name in OUR_SERVICES:
        if "kafka" not in (c["services"][name].get("depends_on") or {}):
            problems.append(f"{name} does not wait for kafka")
    assert not problems, "; ".join(problems)


@check("our image is built once, under one tag, and never pulled by the services that share it")
def t_one_build():
    c = compose()
    builders = [n for n, svc in c["services"].items() if "build" in svc]
    assert len(builders) == 1, f"services with build: {builders} (each builds the image again)"
    tag = c["services"][builders[0]].get("image")
    assert tag, f"{builders[0]} builds an untagged image"
    users = [n for n, svc in c["services"].items() if svc.get("image") == tag and n not in builders]
    for name in users:
        assert c["services"][name].get("pull_policy") == "never", \
            f"{name} uses {tag} but may try to pull it from a registry"
    for name in OUR_SERVICES:
        assert name in builders or name in users, f"{name} does not run {tag}"
    df = read("docker/Dockerfile")
    exposed = re.findall(r"^EXPOSE\s+(.*)$", df, re.M)
    assert all(len(e.split()) <= 1 for e in exposed), \
        f"Dockerfile EXPOSE {exposed}: every service would list the other's port"
    return f"{builders[0]} builds {tag}; {', '.join(users)} reuse it"


@check("plain `up -d` returns only when both APIs are healthy (a one-shot waits for them)")
def t_up_waits():
    c = compose()
    waiting = []
    for name in one_shots(c):
        deps = c["services"][name].get("depends_on") or {}
        if all((deps.get(s) or {}).get("condition") == "service_healthy" for s in OUR_SERVICES):
            waiting.append(name)
            assert "kafka-ui" not in deps, f"{name} waits for kafka-ui (a UI pull would hold the APIs back)"
    assert waiting, "no one-shot service depends on wallet-core and balances being healthy: " \
        "`docker compose up -d` returns before the APIs answer"
    return ", ".join(sorted(waiting))


@check("each service has its own database server and user; data on named volumes")
def t_databases():
    c = compose()
    s = c["services"]
    pairs = {"wallet-core": "wallet-db", "balances": "balances-db"}
    users = set()
    for svc, db in pairs.items():
        env, dbenv = env_of(s[svc]), env_of(s[db])
        assert env["DB_HOST"] == db, f"{svc} talks to {env['DB_HOST']}, not {db}"
        for a, b in (("DB_USER", "MARIADB_USER"), ("DB_PASSWORD", "MARIADB_PASSWORD"), ("DB_NAME", "MARIADB_DATABASE")):
            assert env[a] == dbenv[b], f"{svc} {a}={env[a]} but {db} {b}={dbenv[b]}"
        assert env["DB_USER"] != "root", f"{svc} uses root"
        users.add(env["DB_USER"])
    assert len(users) == 2, "both services share a database user"
    volumes = c.get("volumes") or {}
    for name in ("wallet-db", "balances-db", "kafka"):
        mounts = [str(v).split(":")[0] for v in s[name].get("volumes") or []]
        assert any(m in volumes for m in mounts), f"{name}: data not on a named volume"


@check("Kafka listeners: in-network, host and controller, all mapped")
def t_kafka():
    env = env_of(compose()["services"]["kafka"])
    required = ["CLUSTER_ID", "KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_CONTROLLER_QUORUM_VOTERS",
                "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "KAFKA_INTER_BROKER_LISTENER_NAME", "KAFKA_CONTROLLER_LISTENER_NAMES", "KAFKA_LOG_DIRS",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"]
    missing = [k for k in required if not env.get(k)]
    assert not missing, f"missing {missing}"
    listeners = dict(l.split("://") for l in env["KAFKA_LISTENERS"].split(","))
    advertised = dict(l.split("://") for l in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    protomap = dict(l.split(":") for l in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    for name in listeners:
        assert name in protomap, f"listener {name} not in the protocol map"
    assert advertised.get("PLAINTEXT") == "kafka:19092", "containers must reach kafka:19092"
    assert advertised.get("PLAINTEXT_HOST", "").startswith("localhost:"), "host listener not advertised as localhost"
    assert "CONTROLLER" not in advertised, "controller listener must not be advertised"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith("@kafka:" + listeners["CONTROLLER"].lstrip(":")), \
        "quorum voter does not point at the controller listener"
    for name in OUR_SERVICES:
        assert env_of(compose()["services"][name])["KAFKA_BROKERS"] == "kafka:19092", f"{name}: KAFKA_BROKERS"


@check("Dockerfile: multi-stage bookworm-slim, packages from tools/deps, non-root, sources exist")
def t_dockerfile():
    df = read("docker/Dockerfile")
    froms = re.findall(r"^FROM\s+(\S+)", df, re.M)
    assert froms and all(f == "debian:bookworm-slim" for f in froms) and len(froms) >= 2, f"FROM {froms}"
    assert "install-deps.sh build" in df and "install-deps.sh runtime" in df, "not installing from the lists"
    assert not re.search(r"apt-get\s+install", df), "apt-get install with inline packages"
    inst = read("docker/install-deps.sh")
    assert "tools/lib/deps.sh" in inst and "deps_install" in inst, "install-deps.sh does not use tools/lib/deps.sh"
    users = re.findall(r"^USER\s+(\S+)", df, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"last USER is {users}"
    for flags, srcs in re.findall(r"^COPY\s+((?:--\S+\s+)*)(.+)$", df, re.M):
        if "--from" in flags:
            continue
        for src in srcs.split()[:-1]:
            assert os.path.exists(os.path.join(ROOT, src)), f"COPY source {src} does not exist"
    assert "-DSANITIZE=OFF" in df and "-DBUILD_TESTING=OFF" in df, "not the release configuration"
    for prog in ("wallet-core", "balances", "eventcat"):
        assert f"/src/build/bin/{prog}" in df, f"{prog} not copied into the image"
    assert "KAFKA_BROKERS=kafka:19092" in df, "eventcat's broker default is not the compose network's"
    ignore = read(".dockerignore").split()
    for needed in ("proto", "runtime", "migrations", "tools", "cmake", "wallet-core", "balances"):
        assert needed not in ignore, f".dockerignore drops {needed}"


@check("shared libraries of the built binaries come from tools/deps/runtime.txt")
def t_runtime_libs(bin_dirs):
    bins = [os.path.join(d, b) for d in bin_dirs for b in ("wallet-core", "balances", "eventcat")
            if os.path.isfile(os.path.join(d, b))]
    if not bins or not shutil.which("dpkg-query"):
        return "SKIP: no built binaries given (--bin-dir)"
    libs = set()
    for b in bins:
        out = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
        for m in re.finditer(r"=>\s+(/\S+)", out):
            if not re.search(r"lib(asan|ubsan|lsan|tsan|clang_rt)", m.group(1)):
                libs.add(os.path.realpath(m.group(1)))
    needed = set()
    for lib in libs:
        r = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
        if r.returncode != 0:  # /lib vs /usr/lib (merged /usr): ask for the other spelling
            alt = lib.replace("/usr/lib/", "/lib/", 1) if lib.startswith("/usr/lib/") else "/usr" + lib
            r = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
        assert r.returncode == 0, f"{lib} belongs to no Debian package"
        needed.add(r.stdout.split(":")[0].strip())
    runtime = deps_list("runtime")
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends",
                          *runtime], capture_output=True, text=True).stdout
    closure = set(runtime) | {l.split(":")[-1].strip().strip("<>") for l in out.splitlines()}
    # What debian:bookworm-slim already holds (Essential/required) counts as present.
    missing = []
    for pkg in sorted(needed):
        if pkg in closure:
            continue
        prio = subprocess.run(["dpkg-query", "-W", "-f=${Priority} ${Essential}", pkg],
                              capture_output=True, text=True).stdout
        if "required" in prio or "yes" in prio:
            continue
        missing.append(pkg)
    assert not missing, f"packages the binaries need but runtime.txt does not bring: {missing}"
    return f"{len(bins)} binaries, {len(needed)} packages"


@check(".env documents every variable compose interpolates, and nothing unused")
def t_dotenv():
    text = read("docker-compose.yml")
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    env = load_env_file()
    undocumented = sorted(used - set(env))
    assert not undocumented, f"not in .env: {undocumented}"
    stack = read("tools/stack")
    unused = sorted(k for k in env if k not in used and not re.search(rf"\b{k}\b", stack))
    assert not unused, f".env keys nobody reads: {unused}"
    for k, v in env.items():
        m = re.search(rf"\$\{{{k}:-([^}}]*)\}}", text)
        if m and m.group(1) != v:
            raise AssertionError(f"{k}: compose default {m.group(1)!r} differs from .env {v!r}")
    return f"{len(env)} keys"


@check("kafka-ui decodes our topics with message types that exist in proto/")
def t_kafka_ui():
    c = compose()
    ui = c["services"]["kafka-ui"]
    cfg_path = env_of(ui)["SPRING_CONFIG_ADDITIONAL-LOCATION"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in ui["volumes"]}
    assert cfg_path in mounts, f"config {cfg_path} is not mounted"
    with open(os.path.join(ROOT, mounts[cfg_path]), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    cluster = cfg["kafka"]["clusters"][0]
    assert cluster["bootstrapServers"] == "kafka:19092", "kafka-ui must use the in-network listener"
    serde = next(s for s in cluster["serde"] if s["name"] == "ProtobufFile")
    props = serde["properties"]
    files_dir = props["protobufFilesDir"].rstrip("/")
    # What kafka-ui sees under protobufFilesDir: the proto files mounted there.
    seen = {target[len(files_dir) + 1:]: src for target, src in mounts.items()
            if target.startswith(files_dir + "/")}
    assert seen, f"nothing is mounted under protobufFilesDir {files_dir}"
    messages = {}
    imports = set()
    for rel, src in seen.items():
        assert src.startswith("./proto/") and src[len("./proto/"):] == rel, \
            f"{src} is mounted as {rel}: its import path must stay the one in proto/"
        with open(os.path.join(ROOT, src), encoding="utf-8") as f:
            text = f.read()
        pkg = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
        for m in re.findall(r"^message\s+(\w+)", text, re.M):
            messages[f"{pkg}.{m}"] = src
        imports |= set(re.findall(r'^import\s+"([^"]+)";', text, re.M))
    by_topic = props["protobufMessageNameByTopic"]
    assert by_topic == TOPICS, f"topic mapping {by_topic} != {TOPICS}"
    for topic, msg in by_topic.items():
        assert msg in messages, f"{topic}: {msg} is not a message of the mounted protos"
    # kafka-ui bundles Google's well-known types (google/protobuf/*.proto); the rest must
    # be mounted too.
    for imp in imports:
        if not imp.startswith("google/protobuf/"):
            assert imp in seen, f"import {imp} is not mounted for kafka-ui"


@check("tools/stack and tools/compose-check: valid bash, shellcheck-clean; same topology as compose")
def t_stack():
    scripts = ("tools/stack", "tests/e2e/run_stack_e2e.sh", "docker/install-deps.sh", "tools/compose-check",
               "tests/e2e/test_stack_dir.sh")
    for script in scripts:
        r = subprocess.run(["bash", "-n", os.path.join(ROOT, script)], capture_output=True, text=True)
        assert r.returncode == 0, f"{script}: {r.stderr}"
    detail = "bash -n"
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", "-x", "-P", os.path.join(ROOT, "tools/lib")]
                           + [os.path.join(ROOT, p) for p in scripts], capture_output=True, text=True,
                           cwd=ROOT)
        assert r.returncode == 0, r.stdout[:800]
        detail += ", shellcheck"
    stack = read("tools/stack")
    for name in OUR_SERVICES:
        svc_env = env_of(compose()["services"][name])
        fn = "wallet_core_env" if name == "wallet-core" else "balances_env"
        body = re.search(rf"^{fn}\(\) \{{(.*?)^\}}", stack, re.M | re.S).group(1)
        set_here = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", body)) - {"SERVICE_ENV"}
        assert set_here == set(svc_env), \
            f"{name}: tools/stack sets {sorted(set_here ^ set(svc_env))} differently from compose"
    return detail


@check("api/client.http: every request states its status; chained names exist before use")
def t_client_http():
    variables, requests = run_client_http.parse(read("api/client.http"))
    assert requests, "no requests"
    named = set()
    problems = []
    for i, req in enumerate(requests, 1):
        if req.expect is None:
            problems.append(f"request {i} (line {req.line}) has no '# expect:'")
        texts = [req.url, req.body or ""] + [v for _, v in req.headers] + [w for _, w in req.expect_body]
        for t in texts:
            for ref in run_client_http.REF.findall(t):
                head = ref.split(".")[0]
                if ref in variables:
                    continue
                if ".response." in ref and head in named:
                    continue
                problems.append(f"request {i} (line {req.line}) uses {{{{{ref}}}}} before it exists")
        if req.name:
            named.add(req.name)
    statuses = {r.expect for r in requests}
    for s in (200, 201, 400, 404, 415):
        if s not in statuses:
            problems.append(f"no request expects {s}")
    paths = " ".join(r.url for r in requests)
    for route in ("/clients", "/accounts", "/transactions", "/balances/", "/healthz", "/readyz", "min_version="):
        if route not in paths:
            problems.append(f"no request for {route}")
    if not any(k.lower() == "idempotency-key" for r in requests for k, _ in r.headers):
        problems.append("no request with an Idempotency-Key")
    assert not problems, "; ".join(problems)
    return f"{len(requests)} requests"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", action="append", default=[])
    args = ap.parse_args()
    for fn in (t_parses, t_compose_config, t_ports, t_readme_ports, t_healthchecks, t_readyz, t_env,
               t_pinned, t_depends, t_one_build, t_up_waits, t_databases, t_kafka, t_dockerfile, t_dotenv, t_kafka_ui, t_stack,
               t_client_http, t_compose_cluster):
        fn()
    t_runtime_libs(args.bin_dir)
    passed = sum(1 for ok, _, _ in results if ok is True)
    failed = sum(1 for ok, _, _ in results if ok is False)
    skipped = sum(1 for ok, _, _ in results if ok is None)
    for ok, name, detail in results:
        tag = {True: "ok  ", False: "FAIL", None: "skip"}[ok]
        print(f"{tag} {name}" + (f": {detail}" if detail else ""))
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
