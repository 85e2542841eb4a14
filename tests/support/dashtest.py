# SPDX-License-Identifier: GPL-2.0-or-later
"""What the Python tests share (tests/cli, tests/completions, tests/man, tests/package and
tests/integration): failing and skipping a case, with the exit codes CTest reads; the
environment dashctl runs in under test; a config to start from, in a directory of its own.

Standard library only: the completion tests run under the system's python3. A test finds this
module from its own location:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    from dashtest import Failure, check  # noqa: E402
"""
import os
import shutil
import sys
import tempfile

SKIP = 77  # CTest's SKIP_RETURN_CODE for every Python test

# The main config the CLI-level tests start from: an IoT network and an MQTT broker, no buttons.
MAIN = """\
[network]
iot_interface = "br-iot"
listen_address = "10.77.0.1"
subnet = "10.77.0.0/24"
lease_range = "10.77.0.200-10.77.0.249"

[mqtt]
url = "mqtt://localhost:1883"
"""


class Failure(Exception):
    """A check failed: the case fails (exit 1)."""


class Skip(Exception):
    """Something the case needs is missing: it is skipped (exit 77) and says why."""


def check(cond, what):
    if not cond:
        raise Failure(what)


def ok(p, what):
    """Checks that a finished subprocess exited 0; returns its stdout."""
    check(p.returncode == 0, f"{what} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


def require_root(why):
    """Skips the case unless it runs as root."""
    if os.geteuid() != 0:
        raise Skip(f"needs root ({why})")


def clean_env(extra=None, drop=()):
    """Our environment without what would steer dashctl away from what a test gives it
    ($DASHCTL_CONFIG, $NO_COLOR, and the names in `drop`), with `extra` on top."""
    env = {k: v for k, v in os.environ.items() if k not in ("DASHCTL_CONFIG", "NO_COLOR", *drop)}
    env.update(extra or {})
    return env


def write(path, text, mode=0o644):
    """Writes a file, creating its directory; returns its path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


class ConfigDir:
    """A temporary directory with a dashctl.toml (MAIN unless told), removed by close()."""

    def __init__(self, prefix, main=MAIN):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.config = self.write("dashctl.toml", main)

    def write(self, name, text, mode=0o644):
        """Writes a file below the directory; returns its path."""
        return write(os.path.join(self.dir, name), text, mode)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run_case(case, *args):
    """Runs one case; returns the exit code for CTest: 0 passed (after "ok"), 1 failed,
    77 skipped (after "skipped: <why>")."""
    try:
        case(*args)
    except Skip as e:
        print(f"skipped: {e}")
        return SKIP
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print("ok")
    return 0
