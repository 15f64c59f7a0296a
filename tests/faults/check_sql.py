#!/usr/bin/env python3
"""check_sql: no SQL text in wallet-core/, balances/ or runtime/ is built from data.

A static, heuristic check (C parsed with regular expressions and bracket matching):

  A. No printf-family call (snprintf, sprintf, asprintf, vsnprintf, ...) has a format
     string with an SQL keyword and a string conversion (%s, %.*s, %-20s ...). Integers
     (%d) cannot carry quotes, so they pass.
  B. The SQL argument of every sink (db_exec, db_query, mysql_real_query, mysql_query,
     mysql_send_query, mysql_stmt_prepare; and, found by fixpoint, every function that hands
     one of its own parameters to a sink) is a string literal (adjacent literals and
     UPPERCASE macros allowed), a ?: of literals, a parameter of the enclosing function
     (then the callers are checked), or a variable set in the enclosing function from one of
     those or from a placeholder builder called with literal strings only.
  C. A placeholder builder (a function in these folders that returns char * and is used as
     SQL) copies only from string literals, its own parameters and fixed tuples
     (memcpy/strcpy/strcat/stpcpy sources), and formats nothing with %s.
  D. strcat/strncat/stpcpy/strcpy into a variable named like sql/query/stmt from a
     non-literal source.

Known, reviewed exceptions are listed in ALLOWED with their reason and printed.
Usage: check_sql.py [--root DIR] [--self-test]. Exit 1 on any finding.
"""
import argparse
import os
import re
import sys
import tempfile

DIRS = ("wallet-core", "balances", "runtime")
SINKS = {"db_exec": 1, "db_query": 1, "mysql_real_query": 1, "mysql_query": 1,
         "mysql_send_query": 1, "mysql_stmt_prepare": 1}
PRINTF = {"snprintf": 2, "sprintf": 1, "asprintf": 1, "vsnprintf": 2, "vsprintf": 1,
          "vasprintf": 1}
SQL_KW = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|REPLACE|WHERE|VALUES|FROM|INTO|SET|CALL|"
                    r"LIMIT|ORDER BY|GRANT|DROP|CREATE|ALTER|TRUNCATE|GET_LOCK|LOCK TABLES)\b")
STR_CONV = re.compile(r"%[-+ #0]*(\d+|\*)?(\.(\d+|\*))?(s|ls)")
# Functions whose result becomes SQL without being a placeholder builder -> why that is safe.
NOT_BUILDERS = {"mig_read": "reads a migrations/<service>/NNN_*.sql file of the repository"}
# (file, text in the call) -> reason
ALLOWED = {
    ("runtime/migrate.c", "cfg->database"):
        "DB_NAME, the service's own configuration (database and lock names), never request data",
    ("runtime/migrate.c", "mig_apply_text(r, files[i].name, text"):
        "the text of a migrations/<service>/NNN_*.sql file of the repository",
    ("runtime/migrate.c", '"%s/%s", r->dir, name'):
        "a file path (MIGRATIONS_DIR/name), not SQL",
}


def strip_comments(src):
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            out.append(" " * ((n if j < 0 else j + 2) - i))
            i = n if j < 0 else j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def match_close(src, i, open_c, close_c):
    """Index of the bracket closing the one at src[i]."""
    depth, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n - 1


def split_args(s):
    args, depth, cur, i = [], 0, [], 0
    while i < len(s):
        c = s[i]
        if c in "\"'":
            j = i + 1
            while j < len(s) and s[j] != c:
                j += 2 if s[j] == "\\" else 1
            cur.append(s[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


def literal_text(expr):
    """The text of a literal-only expression ("a" MACRO "b"), or None."""
    expr = expr.strip()
    while expr.startswith("(") and match_close(expr, 0, "(", ")") == len(expr) - 1:
        expr = expr[1:-1].strip()
    parts = re.findall(r'"(?:[^"\\]|\\.)*"|[A-Z_][A-Z0-9_]*|\S+', expr)
    text = []
    for p in parts:
        if p.startswith('"'):
            text.append(p[1:-1])
        elif re.fullmatch(r"[A-Z_][A-Z0-9_]*", p):
            text.append(" ")
        else:
            return None
    return "".join(text) if parts else None


def is_literalish(expr):
    if literal_text(expr) is not None:
        return True
    m = re.fullmatch(r"\s*[^?]+\?(.+):(.+)", expr, re.S)
    return bool(m) and literal_text(m.group(1)) is not None and literal_text(m.group(2)) is not None


class Func:
    def __init__(self, path, name, params, body, ret, sig):
        self.path, self.name, self.params, self.body, self.ret = path, name, params, body, ret
        self.sig = sig


def functions(path, src):
    out = []
    for m in re.finditer(r"([A-Za-z_][\w \t\*]*?)\b([A-Za-z_]\w*)\s*\(([^;{}()]*(?:\([^()]*\)[^;{}()]*)*)\)\s*\{", src):
        if m.group(2) in ("if", "for", "while", "switch", "return", "sizeof"):
            continue
        start = m.end() - 1
        end = match_close(src, start, "{", "}")
        params = []
        for p in split_args(m.group(3)):
            pm = re.search(r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$", p)
            if pm:
                params.append(pm.group(1))
        out.append(Func(path, m.group(2), params, src[start:end + 1], m.group(1), m.group(3)))
    return out


def calls(body, names):
    for m in re.finditer(r"\b(%s)\s*\(" % "|".join(map(re.escape, names)), body):
        i = m.end() - 1
        j = match_close(body, i, "(", ")")
        yield m.group(1), split_args(body[i + 1:j]), body[m.start():j + 1]


def line_of(src, snippet):
    k = src.find(snippet)
    return src.count("\n", 0, k) + 1 if k >= 0 else 0


def check(root):
    findings, allowed_hits = [], []
    files = {}
    for d in DIRS:
        base = os.path.join(root, d)
        for dirpath, _, names in os.walk(base):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    p = os.path.join(dirpath, n)
                    with open(p, encoding="utf-8", errors="replace") as f:
                        files[os.path.relpath(p, root)] = strip_comments(f.read())
    funcs = [f for path, src in files.items() for f in functions(path, src)]
    by_name = {}
    for f in funcs:
        by_name.setdefault(f.name, []).append(f)

    def report(path, snippet, why):
        for (apath, text), reason in ALLOWED.items():
            if apath == path and text in snippet:
                allowed_hits.append("%s: allowed (%s): %s" % (path, reason, " ".join(snippet.split())[:120]))
                return
        findings.append("%s:%d: %s: %s" % (path, line_of(files[path], snippet), why,
                                           " ".join(snippet.split())[:160]))

    # A: formats with SQL and a string conversion.
    for f in funcs:
        for name, args, snip in calls(f.body, list(PRINTF)):
            k = PRINTF[name]
            fmt = literal_text(args[k]) if len(args) > k else None
            if fmt and SQL_KW.search(fmt) and STR_CONV.search(fmt):
                report(f.path, snip, "SQL format with a string conversion")

    # B: sink arguments, with pass-through functions found by fixpoint. A placeholder
    # builder's string parameters are SQL too: what callers hand it must be literal.
    sinks = {k: {v} for k, v in SINKS.items()}
    builders = set()
    for _ in range(2):
        for b in builders:
            if b in NOT_BUILDERS:
                continue
            for f in by_name[b]:
                idx = {i for i, p in enumerate(f.params)
                       if re.search(r"char\s*\*\s*%s\b" % re.escape(p), f.sig)}
                sinks.setdefault(b, set()).update(idx)
        changed = True
        while changed:
            changed = False
            for f in funcs:
                for name, args, _ in calls(f.body, list(sinks)):
                    for k in sinks[name]:
                        if len(args) > k and args[k].strip() in f.params:
                            i = f.params.index(args[k].strip())
                            if i not in sinks.setdefault(f.name, set()):
                                sinks[f.name].add(i)
                                changed = True
        for f in funcs:
            for name, args, snip in calls(f.body, list(sinks)):
                for k in sorted(sinks[name]):
                    if len(args) <= k:
                        continue
                    a = args[k].strip()
                    if is_literalish(a) or a in f.params:
                        continue
                    if not re.fullmatch(r"[A-Za-z_]\w*", a):
                        report(f.path, snip, "SQL argument is an expression")
                        continue
                    ok = True
                    for am in re.finditer(r"\b%s\s*=(?!=)\s*" % re.escape(a), f.body):
                        end_ = f.body.find(";", am.end())
                        rhs = f.body[am.end():end_].strip()
                        if is_literalish(rhs):
                            continue
                        bm = re.fullmatch(r"([A-Za-z_]\w*)\s*\((.*)\)", rhs, re.S)
                        if bm and bm.group(1) in by_name:
                            builders.add(bm.group(1))
                            continue  # its arguments are checked as a sink's
                        if bm and bm.group(1) in ("malloc", "calloc"):
                            continue
                        ok = False
                    if not ok:
                        report(f.path, snip, "SQL built from non-literal data")
                    for name2, args2, snip2 in calls(f.body, list(PRINTF)):
                        if args2 and args2[0].strip() == a:
                            fmt = literal_text(args2[PRINTF[name2]]) if len(args2) > PRINTF[name2] else None
                            if fmt is None or STR_CONV.search(fmt):
                                report(f.path, snip2, "SQL variable formatted with strings")
                    for name2, args2, snip2 in calls(f.body, ["strcat", "strncat", "stpcpy", "strcpy"]):
                        if args2 and args2[0].strip() == a and literal_text(args2[1]) is None:
                            report(f.path, snip2, "SQL variable appended from non-literal data")

    # C: builders copy only literals, their parameters and fixed tuples.
    for b in builders - set(NOT_BUILDERS):
        for f in by_name[b]:
            if not f.ret.strip().endswith("*") and "char" not in f.ret:
                continue
            for name, args, snip in calls(f.body, ["memcpy", "strcpy", "strcat", "stpcpy", "strncat"]):
                src = args[1].strip() if len(args) > 1 else ""
                if literal_text(src) is not None or src in f.params:
                    continue
                # a local array initialised from a literal ("(?,?,?,?)") is a fixed tuple
                if re.search(r"\b%s\s*\[\s*\]\s*=\s*\"" % re.escape(src), f.body):
                    continue
                report(f.path, snip, "builder %s copies non-literal text" % b)
            for name, args, snip in calls(f.body, list(PRINTF)):
                fmt = literal_text(args[PRINTF[name]]) if len(args) > PRINTF[name] else None
                if fmt is None or STR_CONV.search(fmt):
                    report(f.path, snip, "builder %s formats strings" % b)

    # D: appends to SQL-named buffers anywhere.
    for f in funcs:
        for name, args, snip in calls(f.body, ["strcat", "strncat", "stpcpy", "strcpy"]):
            if len(args) > 1 and re.search(r"sql|query|stmt", args[0], re.I) and literal_text(args[1]) is None \
                    and args[1].strip() not in f.params:
                report(f.path, snip, "append to an SQL buffer from non-literal data")
    return (sorted(set(findings)), sorted(set(allowed_hits)), sorted(builders),
            sorted(set(sinks) - set(SINKS)))


PLANTED_BAD = r'''
static int find(db_conn *conn, const char *name) {
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT id FROM clients WHERE name = '%s'", name);
  return db_query(conn, sql, NULL, 0, NULL, NULL);
}
static int run(db_conn *conn, const char *sql) { return db_exec(conn, sql, NULL, 0, NULL, NULL); }
static int del(db_conn *conn, const char *id) {
  char q[128] = "DELETE FROM accounts WHERE id = '";
  strcat(q, id);
  strcat(q, "'");
  return run(conn, q);
}
'''
PLANTED_GOOD = r'''
static int ok(db_conn *conn, const char *id, int locking) {
  db_param p[1] = {DB_P_STR(id)};
  const char *sql = locking ? "SELECT 1 FROM a WHERE id = ? FOR UPDATE" : "SELECT 1 FROM a WHERE id = ?";
  char msg[64];
  snprintf(msg, sizeof msg, "bad id %s", id);
  return db_query(conn, sql, p, 1, NULL, NULL);
}
'''


def self_test():
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "wallet-core"))
        with open(os.path.join(d, "wallet-core", "bad.c"), "w") as f:
            f.write(PLANTED_BAD)
        findings, _, _, _ = check(d)
        assert any("SQL format with a string conversion" in x for x in findings), findings
        assert any("bad.c:10" in x for x in findings), findings  # the strcat into q
        with open(os.path.join(d, "wallet-core", "bad.c"), "w") as f:
            f.write(PLANTED_GOOD)
        findings, _, _, _ = check(d)
        assert not findings, findings
    print("check_sql self-test: planted concatenation flagged, parameterised SQL passes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.environ.get("WALLET_SOURCE_DIR") or
                    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    ap.add_argument("--self-test", action="store_true", help="only the self-test")
    a = ap.parse_args()
    self_test()
    if a.self_test:
        return 0
    findings, allowed, builders, passthrough = check(a.root)
    print("placeholder builders checked: %s" % (", ".join(b for b in builders if b not in NOT_BUILDERS) or "-"))
    for b, why in NOT_BUILDERS.items():
        print("%s: not a builder (%s)" % (b, why))
    print("pass-through sinks found: %s" % (", ".join(passthrough) or "-"))
    for x in allowed:
        print(x)
    for x in findings:
        print("FINDING " + x)
    print("check_sql: %d finding(s)" % len(findings))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
