# SPDX-License-Identifier: GPL-2.0-or-later
"""The lab as a test fixture: a lab with a unique name for one test, torn down however the
test ends (a failed assertion, an exception, SIGTERM from CTest's timeout, Ctrl-C).

    with Lab(repo) as lab:
        press = lab.press("btn1")[0]
        lab.exec("router", "ip", "addr")
"""
import json
import os
import secrets
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import dashtest  # noqa: E402
from dashtest import Failure, check, ok  # noqa: E402,F401 (check and ok: for the tests)

NOBODY = 65534  # an unprivileged user, for what must work without root
ENDPOINT = "dash-button-na-aws-opf.amazon.com"  # the host a press resolves (scripts/press)


def _raise_on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through every `with Lab(...)`


def _start_time(pid):
    """A process's start time (field 22 of /proc/PID/stat), or None when it is gone: with the
    pid, it names the process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def sweep_orphans(repo, base):
    """Takes down the labs (dt-*) whose test process is gone. A test killed with SIGKILL (by
    hand, or a runner that kills hard) cannot take its own lab down; the next lab made does.
    A lab without an owner file is one being made, or not a test's: left alone. Returns the
    names taken down."""
    gone = []
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, name, "owner")) as f:
                pid, start = f.read().split()
        except (OSError, ValueError):
            continue
        if not name.startswith("dt-") or _start_time(int(pid)) == start:
            continue
        subprocess.run([os.path.join(repo, "scripts", "lab"), "-n", name, "down"], capture_output=True,
                       timeout=60, env={**os.environ, "DASHCTL_LAB": name})
        gone.append(name)
    return gone


class Lab:
    def __init__(self, repo, buttons=3, name=None):
        self.repo = repo
        self.name = name or "dt-" + secrets.token_hex(3)
        self.buttons = buttons
        self.env = {}
        self.state = os.path.join(os.environ.get("DASHCTL_LAB_STATE", "/run/dashctl-lab"), self.name)

    def script(self, name, *args, check_rc=True, timeout=60):
        p = subprocess.run([os.path.join(self.repo, "scripts", name), *args], capture_output=True, text=True,
                           timeout=timeout, env={**os.environ, "DASHCTL_LAB": self.name})
        if check_rc and p.returncode != 0:
            raise Failure(f"scripts/{name} {' '.join(args)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
        return p

    def up(self):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, _raise_on_signal)
        sweep_orphans(self.repo, os.path.dirname(self.state))
        self.script("lab", "-b", str(self.buttons), "up")
        with open(os.path.join(self.state, "owner"), "w") as f:
            f.write(f"{os.getpid()} {_start_time(os.getpid())}\n")
        out = self.script("lab", "env").stdout
        self.env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return self

    def down(self):
        return self.script("lab", "down", check_rc=False)

    def __enter__(self):
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc):
        p = self.down()
        if p.returncode != 0:
            print(f"lab {self.name}: down failed:\n{p.stdout}{p.stderr}", file=sys.stderr)
        return False

    def exec(self, ns, *cmd, timeout=30, check_rc=False, input_text=None):
        p = subprocess.run(["ip", "netns", "exec", f"{self.name}-{ns}", *cmd], capture_output=True, text=True,
                           timeout=timeout, input=input_text)
        if check_rc and p.returncode != 0:
            raise Failure(f"{' '.join(cmd)} in {ns} exited {p.returncode}: {p.stderr}")
        return p

    def press(self, button, *args, timeout=120):
        """Presses a button; returns the JSON of each press."""
        p = self.script("press", "--lab", self.name, button, *args, timeout=timeout)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def wake(self, button):
        """Brings a button's link up with a lease, for probing from it; returns its address."""
        self.exec(button, "ip", "link", "set", "wlan0", "up", check_rc=True)
        p = self.exec(button, "busybox", "udhcpc", "-i", "wlan0", "-f", "-q", "-n", "-t", "5", "-T", "1",
                      "-s", os.path.join(self.state, "udhcpc.script"), timeout=20, check_rc=True)
        for line in p.stdout.splitlines():
            if line.startswith("LEASE "):
                return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)["ip"]
        raise Failure(f"{button} got no lease: {p.stdout}{p.stderr}")

    def sleep(self, button):
        self.exec(button, "ip", "addr", "flush", "dev", "wlan0")
        self.exec(button, "ip", "link", "set", "wlan0", "down")

    def file(self, name):
        path = os.path.join(self.state, name)
        return open(path).read() if os.path.exists(path) else ""


class Dashctl:
    """dashctl run inside the lab's router namespace, with a config of the lab's values."""

    def __init__(self, lab, binary=None, extra_network="", extra=""):
        self.lab = lab
        self.binary = binary or os.environ["DASHCTL"]
        self.dir = os.path.join(lab.state, "etc")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.config = os.path.join(self.dir, "dashctl.toml")
        self.write_config(extra_network, extra)

    def write_config(self, extra_network="", extra=""):
        st = self.lab.state
        dashtest.write(self.config, f"""[network]
iot_interface = "br-iot"
listen_port = 1443
lease_range = "10.77.0.200-10.77.0.249"
{extra_network}
[dnsmasq]
conf_dir = "{st}/dnsmasq.d"
state_dir = "{st}/dashctl"
reload = "pidfile:{st}/dnsmasq.pid"
{extra}""")

    def __call__(self, *args, user=None, ns="router", timeout=60):
        cmd = [self.binary, "-c", self.config, *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        return self.lab.exec(ns, *cmd, timeout=timeout)



def daemon_dashctl(lab, before="", daemon_keys="", state_dir=True, owner=NOBODY):
    """A Dashctl for `dashctl run` as an unprivileged user: its control socket (and, unless
    state_dir is False, its state) in <lab>/run, the daemon's user's (`owner`), as a socket
    directory must be. `before`: config tables before [daemon]; `daemon_keys`: more [daemon]
    keys. Returns it and the run dir."""
    run_dir = os.path.join(lab.state, "run")
    os.makedirs(run_dir, mode=0o755, exist_ok=True)
    os.chown(run_dir, owner, owner)
    os.chmod(run_dir, 0o755)
    os.chmod(lab.state, 0o755)
    keys = f'control_socket = "{run_dir}/control.sock"\n' + (f'state_dir = "{run_dir}/state"\n' if state_dir else "")
    return Dashctl(lab, extra=f"{before}[daemon]\n{keys}{daemon_keys}"), run_dir

def run_case(cases, argv):
    """test_x.py REPO CASE: runs one case; exit 0 passed, 1 failed, 77 skipped (without root:
    integration tests need network namespaces)."""
    if len(argv) != 3 or argv[2] not in cases:
        print(f"usage: {argv[0]} REPO CASE ({', '.join(cases)})", file=sys.stderr)
        return 64

    def case(repo):
        dashtest.require_root("network namespaces")
        cases[argv[2]](repo)

    return dashtest.run_case(case, argv[1])
