"""conftest: one private stack for the whole session, the profile, and the tally lines.

FAULTS_PROFILE=short (default, tools/test) or long (tools/faults). The stack runs on
ports from FAULTS_BASE_PORT (default 24000) with the binaries of BUILD_DIR/bin; it is
wiped and started fresh, and stopped at the end, when a sanitizer report anywhere in the
services' logs fails the session.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stack as stack_mod  # noqa: E402

PROFILES = {
    # transfers per fault scenario, baseline transfers, seconds cap, repetitions of kills
    "short": {"transfers": 800, "baseline": 2000, "seconds": 45, "repeat": 1, "pause_s": 10},
    "long": {"transfers": 6000, "baseline": 20000, "seconds": 180, "repeat": 3, "pause_s": 10},
}
PROFILE_NAME = os.environ.get("FAULTS_PROFILE", "short")
if PROFILE_NAME not in PROFILES:
    raise SystemExit("FAULTS_PROFILE must be short or long, not %r" % PROFILE_NAME)
PROFILE = PROFILES[PROFILE_NAME]
TALLIES = []


@pytest.fixture(scope="session")
def profile():
    return PROFILE


@pytest.fixture(scope="session")
def stack():
    s = stack_mod.Stack()
    s.fresh()
    yield s
    s.down()
    reports = s.sanitizer_reports(since_mark=False)
    if reports:
        pytest.fail("sanitizer reports in service logs:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture
def record_tally(stack):
    def rec(tally):
        line = tally.line()
        TALLIES.append(line)
        with open(os.path.join(stack.stack_dir, "tally.log"), "a") as f:
            f.write(line + "\n")
        return line
    return rec


def pytest_terminal_summary(terminalreporter):
    if TALLIES:
        terminalreporter.section("tally (profile %s)" % PROFILE_NAME)
        for line in TALLIES:
            terminalreporter.write_line(line)
