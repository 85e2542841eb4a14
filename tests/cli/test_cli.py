#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The dashctl CLI as a user meets it: exit codes, messages, concurrent writers.

Usage: test_cli.py DASHCTL CASE   (one CTest test per CASE; see tests/CMakeLists.txt)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from dashtest import MAIN, ConfigDir, Skip, check, clean_env, run_case, write  # noqa: E402

DASHCTL = sys.argv[1]


def run(*args, env=None, user=None, timeout=30, program=None):
    """Runs dashctl (or `program`, a dashctl elsewhere); returns (exit code, stdout, stderr)."""
    cmd = [program or DASHCTL, *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(env), timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def expect(args, code, stderr_has=None, stdout_has=None, **kw):
    rc, out, err = run(*args, **kw)
    ctx = f"dashctl {' '.join(args)} -> {rc}\nstdout: {out}\nstderr: {err}"
    check(rc == code, f"expected exit {code}: {ctx}")
    for s in [stderr_has] if isinstance(stderr_has, str) else (stderr_has or []):
        check(s in err, f"stderr lacks {s!r}: {ctx}")
    for s in [stdout_has] if isinstance(stdout_has, str) else (stdout_has or []):
        check(s in out, f"stdout lacks {s!r}: {ctx}")
    check("\033[" not in out + err, f"colour codes without a terminal: {ctx}")
    return out, err


class Workspace(ConfigDir):
    def __init__(self):
        super().__init__(prefix="dashctl-cli.")

    def dashctl(self, *args):
        return ("-c", self.config, *args)


# ---- cases -------------------------------------------------------------------------------

def case_help(ws):
    out, _ = expect(["--help"], 0, stdout_has=["setup", "teardown", "status", "run", "button", "config", "version", "help",
                                               "--config", "--json"])
    for verb in ("learn", "dhcp-event"):
        check(f"  {verb} " in out, f"--help lacks {verb}")
    expect(["help", "button", "add"], 0, stdout_has=["Usage: dashctl button add", "--mac", "--exec"])
    expect(["button", "add", "--help"], 0, stdout_has="Usage: dashctl button add")
    expect(["help", "config"], 0, stdout_has="check")
    expect(["help", "nope"], 64, stderr_has="dashctl: help: unknown command 'nope'")
    _, err = expect([], 64)
    check("Usage: dashctl" in err, "no usage on stderr without arguments")


def case_version(ws):
    out, _ = expect(["version"], 0, stdout_has=["dashctl 0.", "CLI11", "toml++", "spdlog"])
    check(out.splitlines()[1].startswith("License GPL-2.0-or-later"), f"no licence on line 2: {out}")
    expect(["--version"], 0, stdout_has="dashctl 0.")
    out, _ = expect(["--json", "version"], 0)
    data = json.loads(out)
    check(data["version"].startswith("0.") and "toml++" in data["libraries"], f"bad JSON: {out}")
    check(data["license"] == "GPL-2.0-or-later", f"bad JSON licence: {out}")


def case_usage_errors(ws):
    expect(["--bogus", "version"], 64, stderr_has="dashctl: ")
    expect(ws.dashctl("button", "show"), 64, stderr_has="name is required")
    expect(ws.dashctl("button", "add", "x"), 64, stderr_has="give --mac or --ip")
    expect(ws.dashctl("button", "add", "x", "--mac", "zz"), 64,
           stderr_has="dashctl: button add: --mac: 'zz' is not a MAC address")
    expect(ws.dashctl("button", "add", "X!", "--mac", "ac:63:be:00:00:01"), 64,
           stderr_has="'X!' is not a valid button name")
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.5", "--window", "10x"), 64,
           stderr_has="--window: '10x' is not a duration")
    expect(ws.dashctl("button", "rename", "a"), 64)
    expect(ws.dashctl("config"), 64)
    _, err = expect(["button", "add", "x", "--mac"], 64)
    check(len(err.strip().splitlines()) <= 2, f"more than an error and a hint: {err}")


def case_did_you_mean(ws):
    expect(["verison"], 64, stderr_has="unknown command 'verison' for 'dashctl' (did you mean 'version'?)")
    expect(["button", "lsit"], 64,
           stderr_has="unknown command 'lsit' for 'dashctl button' (did you mean 'list'?)")
    expect(["config", "chekc"], 64, stderr_has="(did you mean 'check'?)")
    ws.write("buttons.d/hall.toml", 'mac = "ac:63:be:00:00:01"\n')
    expect(ws.dashctl("button", "show", "hal"), 65, stderr_has="no button 'hal' (did you mean 'hall'?)")


def case_missing_config(ws):
    missing = os.path.join(ws.dir, "nope.toml")
    expect(["-c", missing, "button", "list"], 66, stderr_has=f"dashctl: no config at {missing}")
    expect(["-c", missing, "config", "check"], 66)


def case_no_config_says_how_to_start(ws):
    """Without a config, every verb that needs one says how to get one, as setup does."""
    missing = os.path.join(ws.dir, "nope.toml")
    hint = "hint: start with 'sudo dashctl setup --iot-interface IFACE', which writes one"
    for verb in (["status"], ["run"], ["learn"], ["learn", "--timeout", "60"], ["button", "list"],
                 ["button", "show", "x"], ["button", "add", "x", "--ip", "10.77.0.9"], ["button", "remove", "x"],
                 ["button", "rename", "x", "y"], ["button", "test", "x"], ["teardown"], ["setup"]):
        _, err = expect(["-c", missing, *verb], 66, stderr_has=[f"no config at {missing}\n", hint])
        check("No such file" not in err and len(err.strip().splitlines()) == 2, f"{verb}: {err}")
    expect(["button", "list"], 66, env={"DASHCTL_CONFIG": missing}, stderr_has=hint)
    check(not os.path.exists(os.path.join(ws.dir, "buttons.d")), "a verb wrote beside a config that is not there")


def case_bad_config_exit(ws):
    ws.write("dashctl.toml", MAIN.replace('listen_address = "10.77.0.1"', 'listen_address = "10.77.0"'))
    _, err = expect(ws.dashctl("button", "list"), 65,
                    stderr_has=f"dashctl: {ws.config}:3:18: network.listen_address: '10.77.0' is not an IPv4 address")
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.9"), 65)
    check(not os.path.exists(os.path.join(ws.dir, "buttons.d", "x.toml")), "wrote into a broken config")


def case_misspelt_key(ws):
    ws.write("dashctl.toml", MAIN.replace("iot_interface", "iot_interfce"))
    _, err = expect(ws.dashctl("config", "check"), 65)
    lines = err.strip().splitlines()
    check(f"{ws.config}:2:1: unknown key 'iot_interfce' in [network] (did you mean 'iot_interface'?)" in lines,
          f"no line for the misspelt key: {lines}")
    check(any("missing network.iot_interface" in l for l in lines), f"{lines}")
    check(lines[-1] == "2 problems found", f"{lines}")


def case_config_check_json(ws):
    out, _ = expect(ws.dashctl("config", "check"), 0, stdout_has=f"{ws.config}: OK, 0 buttons")
    out, _ = expect(ws.dashctl("--json", "config", "check"), 0)
    check(json.loads(out)["ok"] is True, out)
    ws.write("buttons.d/a.toml", 'mac = "nope"\n')
    out, _ = expect(ws.dashctl("config", "check", "--json"), 65)
    data = json.loads(out)
    check(data["ok"] is False and len(data["problems"]) == 1, out)
    p = data["problems"][0]
    check(p["file"].endswith("buttons.d/a.toml") and p["line"] == 1 and p["column"] == 7, out)


def case_button_round_trip(ws):
    expect(ws.dashctl("button", "add", "bedroom", "--mac", "68:54:FD:12:34:56", "--ip", "10.77.0.201",
                      "--window", "3s", "--mqtt", 'bedroom/light={"b":"{button}"}',
                      "--exec", "/usr/bin/logger pressed {button}", "--webhook", "http://hass.local/hook"),
           0, stdout_has="added button bedroom")
    path = os.path.join(ws.dir, "buttons.d", "bedroom.toml")
    check(os.path.exists(path), "no button file")
    check(oct(os.stat(path).st_mode & 0o777) == oct(0o644), "button file mode")
    out, _ = expect(ws.dashctl("button", "list"), 0, stdout_has=["bedroom", "68:54:fd:12:34:56", "10.77.0.201"])
    out, _ = expect(ws.dashctl("button", "show", "bedroom"), 0, stdout_has=["exec /usr/bin/logger pressed {button}"])
    expect(ws.dashctl("button", "add", "hall", "--ip", "10.77.0.203"), 0)
    out, err = expect(ws.dashctl("button", "list", "--names"), 0)
    check(out == "bedroom\nhall\n" and err == "", f"button list --names: {out!r} {err!r}")
    expect(ws.dashctl("button", "remove", "hall"), 0)
    expect(ws.dashctl("button", "add", "bedroom", "--ip", "10.77.0.202"), 65, stderr_has="already exists")
    expect(ws.dashctl("button", "add", "other", "--mac", "68:54:fd:12:34:56"), 65,
           stderr_has="dashctl: button add: MAC 68:54:fd:12:34:56 of button 'other' is already used by button 'bedroom'")
    expect(ws.dashctl("button", "rename", "bedroom", "guest"), 0, stdout_has="renamed button bedroom to guest")
    check(not os.path.exists(path), "old file left behind")
    expect(ws.dashctl("button", "show", "guest"), 0, stdout_has="3s")
    expect(ws.dashctl("button", "remove", "guest"), 0, stdout_has="removed button guest")
    expect(ws.dashctl("button", "remove", "guest"), 65, stderr_has="no button 'guest'")
    # A name is never a path: this must not delete the main config.
    expect(ws.dashctl("button", "remove", "../dashctl"), 65, stderr_has="no button '../dashctl'")
    check(os.path.exists(ws.config), "button remove ../dashctl deleted the config")
    expect(ws.dashctl("button", "rename", "x", "../y"), 64, stderr_has="is not a valid button name")
    check(os.listdir(os.path.join(ws.dir, "buttons.d")) == [], "files left in buttons.d")


def case_button_json(ws):
    ws.write("dashctl.toml", MAIN + '[[button]]\nname = "inline"\nip = "10.77.0.9"\n')
    expect(ws.dashctl("button", "add", "hall", "--mac", "ac:63:be:00:00:01", "--mqtt", "hall/press"), 0)
    out, _ = expect(ws.dashctl("--json", "button", "list"), 0)
    data = json.loads(out)
    check([b["name"] for b in data] == ["inline", "hall"], out)
    check(data[0]["mac"] is None and data[0]["own_file"] is False and data[0]["line"] == 10, out)
    check(data[1]["on_press"] == [{"mqtt": {"topic": "hall/press", "payload": "press", "retain": False}}], out)
    out, _ = expect(ws.dashctl("button", "show", "hall", "--json"), 0)
    check(json.loads(out)["window_ms"] == 10000, out)
    expect(ws.dashctl("button", "remove", "inline"), 65,
           stderr_has=f"button 'inline' is written in {ws.config}:10:8, not in its own file; remove it there")


def case_concurrent_add(ws):
    procs = []
    env = {k: v for k, v in os.environ.items() if k != "DASHCTL_CONFIG"}
    for i in range(20):
        procs.append(subprocess.Popen(
            [DASHCTL, "-c", ws.config, "button", "add", f"b{i}", "--mac", f"ac:63:be:00:00:{i:02x}",
             "--ip", f"10.77.0.{200 + i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, f"add b{i} failed with {p.returncode}: {err}")
    out, _ = expect(ws.dashctl("--json", "button", "list"), 0)
    names = sorted(b["name"] for b in json.loads(out))
    check(names == sorted(f"b{i}" for i in range(20)), f"lost writes: {names}")
    left = [n for n in os.listdir(os.path.join(ws.dir, "buttons.d")) if n.startswith(".")]
    check(not left, f"temporary files left: {left}")
    # The same MAC from 5 writers at once: exactly one wins.
    procs = [subprocess.Popen([DASHCTL, "-c", ws.config, "button", "add", f"dup{i}", "--mac", "ac:63:be:00:01:00"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for i in range(5)]
    codes = sorted(p.wait(timeout=60) for p in procs)
    check(codes == [0, 65, 65, 65, 65], f"duplicate MAC race: {codes}")


def case_permission_denied(ws):
    os.chmod(ws.dir, 0o755)
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            raise Skip("setpriv (util-linux) is needed to run as an unprivileged user")
        user = 65534  # nobody
    else:
        os.chmod(ws.dir, 0o555)
        user = None
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.9"), 77,
           stderr_has=f"dashctl: creating {ws.dir}/buttons.d: Permission denied", user=user)
    os.chmod(ws.dir, 0o755)
    os.makedirs(os.path.join(ws.dir, "buttons.d"), mode=0o755)
    ws.write("buttons.d/hall.toml", 'mac = "ac:63:be:00:00:01"\n')
    if user is None:
        os.chmod(os.path.join(ws.dir, "buttons.d"), 0o555)
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.9"), 77,
           stderr_has=f"dashctl: writing {ws.dir}/buttons.d/x.toml: Permission denied", user=user)
    expect(ws.dashctl("button", "remove", "hall"), 77, stderr_has="Permission denied", user=user)
    expect(ws.dashctl("button", "list"), 0, stdout_has="hall", user=user)  # reading needs no privilege
    os.chmod(os.path.join(ws.dir, "buttons.d"), 0o755)


def case_insecure_exec_config(ws):
    path = ws.write("buttons.d/hall.toml", 'mac = "ac:63:be:00:00:01"\non_press = [{ exec = ["/bin/true"] }]\n',
                    mode=0o666)
    expect(ws.dashctl("button", "list"), 65,
           stderr_has=f"dashctl: {path}:1:1: has exec actions but is writable by group or others, "
                      f"so others could make dashctl run any program; run 'chmod go-w {path}'")
    expect(ws.dashctl("config", "check"), 65, stderr_has=f"{path}:1:1: has exec actions")
    os.chmod(path, 0o644)
    expect(ws.dashctl("config", "check"), 0)


def case_env_config(ws):
    expect(["button", "list"], 0, env={"DASHCTL_CONFIG": ws.config})
    missing = os.path.join(ws.dir, "other.toml")
    expect(["button", "list"], 66, env={"DASHCTL_CONFIG": missing}, stderr_has=missing)
    expect(["-c", ws.config, "button", "list"], 0, env={"DASHCTL_CONFIG": missing})  # -c wins


def case_messages_say_what_to_do(ws):
    """Config problems a user can act on: what to add, the type wanted, the range."""
    path = ws.write("buttons.d/x.toml", "")
    expect(ws.dashctl("config", "check"), 65,
           stderr_has=f"{path}:1:1: button 'x' needs a mac or an ip to be recognised by: add mac = "
                      '"<its MAC address>" (or ip = "<its static address>") to buttons.d/x.toml\n')
    os.remove(path)
    ws.write("dashctl.toml", MAIN.replace("[network]\n", "[network]\nlisten_port = 1443.0\n"))
    expect(ws.dashctl("config", "check"), 65,
           stderr_has=f"{ws.config}:2:15: network.listen_port must be a port: an integer from 1 to 65535, "
                      "not a decimal number (write 1443)\n")
    ws.write("dashctl.toml", MAIN)
    path = ws.write("buttons.d/y.toml", 'ip = "10.77.0.5"\nwindow = "99999999999999h"\n')
    expect(ws.dashctl("config", "check"), 65,
           stderr_has=f"{path}:2:10: window: '99999999999999h' is out of range: it must be between 100ms and 1h\n")


def case_flag_durations(ws):
    """On the command line a bare number is seconds, as systemd reads it; a duration too long
    to hold is out of range, not malformed."""
    # The timeout is taken: learn goes on to the interface, which the test config's is not.
    expect(ws.dashctl("learn", "--timeout", "60"), 69, stderr_has="interface br-iot does not exist")
    expect(ws.dashctl("learn", "--timeout", "0"), 64,
           stderr_has="dashctl: learn: --timeout: '0' is out of range: it must be between 1s and 24h")
    expect(ws.dashctl("learn", "--timeout", "99999999999999h"), 64, stderr_has="is out of range")
    expect(ws.dashctl("learn", "--timeout", "1m30"), 64,
           stderr_has="--timeout: '1m30' is not a duration (like 90s, 500ms, 5m, or 90 for seconds)")
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.5", "--window", "99999999999999h"), 64,
           stderr_has="--window: '99999999999999h' is out of range: it must be between 100ms and 1h")
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.5", "--window", "5"), 0)
    out, _ = expect(ws.dashctl("--json", "button", "show", "x"), 0)
    check(json.loads(out)["window_ms"] == 5000, out)
    check('window = "5s"' in open(os.path.join(ws.dir, "buttons.d", "x.toml")).read(), "the file keeps the unit")


def exec_argv(ws, value):
    """The argv `button add --exec VALUE` saves."""
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.5", "--exec", value), 0)
    out, _ = expect(ws.dashctl("--json", "button", "show", "x"), 0)
    expect(ws.dashctl("button", "remove", "x"), 0)
    return json.loads(out)["on_press"][0]["exec"]["argv"]


def case_exec_words(ws):
    """--exec splits its value as sh would, quotes and backslashes included, and refuses what
    only a shell could do, since none runs."""
    for value, argv in [
        ("/usr/bin/logger pressed {button}", ["/usr/bin/logger", "pressed", "{button}"]),
        ('/usr/bin/notify-send "Door bell" {button}', ["/usr/bin/notify-send", "Door bell", "{button}"]),
        ("/bin/echo 'it''s' a\\ b \"\\\"q\\\" \\\\\" '' x", ["/bin/echo", "its", "a b", '"q" \\', "", "x"]),
        ("/bin/echo '$HOME | `x` ;' \\$5 \"a|b;c\"", ["/bin/echo", "$HOME | `x` ;", "$5", "a|b;c"]),
        ("  /bin/echo\t*.log ~ #x  ", ["/bin/echo", "*.log", "~", "#x"]),
        ("/bin/sh -c 'echo $DASHCTL_BUTTON | logger'", ["/bin/sh", "-c", "echo $DASHCTL_BUTTON | logger"]),
    ]:
        got = exec_argv(ws, value)
        check(got == argv, f"--exec {value!r} gave {got}, not {argv}")
    for value, says in [
        ("/bin/echo hi | logger", "the | in '/bin/echo hi | logger' needs a shell, and no shell runs the program"),
        ('/bin/echo "$HOME"', "the $ in"),
        ("/bin/echo $HOME", "the $ in"),
        ("/bin/echo `id`", "the ` in"),
        ("/bin/true; /bin/false", "the ; in"),
        ("/bin/echo > /tmp/x", "the > in"),
        ("/bin/sleep 1 &", "the & in"),
        ("/bin/echo 'open", "the ' that opens a quoted part of '/bin/echo 'open' is not closed"),
        ('/bin/echo "open', "the \" that opens a quoted part"),
        ("/bin/echo \\", "'/bin/echo \\' ends in a \\ that escapes nothing"),
    ]:
        expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.5", "--exec", value), 64,
               stderr_has=f"dashctl: button add: --exec: {says}")
    expect(ws.dashctl("button", "add", "x", "--ip", "10.77.0.5", "--exec", "/bin/echo a|b"), 64,
           stderr_has="hint: to pass it as it is, quote it ('...') or put a \\ before it; for a shell's features, "
                      "run one: --exec '/bin/sh -c \"...\"'")
    expect(ws.dashctl("learn", "--exec", "/bin/echo 'open"), 64, stderr_has="dashctl: learn: --exec: the '")
    check(not os.path.exists(os.path.join(ws.dir, "buttons.d", "x.toml")), "a refused --exec wrote a button")


# ---- status: its exit code -----------------------------------------------------------------

STATUS_MAIN = """\
[network]
iot_interface = "lo"
listen_address = "127.0.0.1"

[dnsmasq]
conf_dir = "{dir}/dnsmasq.d"
state_dir = "{dir}/state"
reload = "pidfile:{dir}/dnsmasq.pid"
dhcp_script = false

[daemon]
control_socket = "{dir}/control.sock"
"""

# What a daemon answers at the least (daemon::read_status).
DAEMON_ANSWER = json.dumps({"pid": 1, "uptime_s": 5, "listen": "127.0.0.1:1443",
                            "counters": {"connections": 0, "presses": 0}, "buttons": [], "unknown": []})


def install_files(ws, user):
    """Writes dnsmasq's files as `setup` would, from the diffs of `setup --dry-run` (setup
    itself would change the firewall, which a CLI test never does)."""
    out, _ = expect(ws.dashctl("setup", "--dry-run"), 0, user=user)
    path, files, before = None, {}, ""
    for line in out.splitlines():
        if line.startswith("# +++ "):
            check(before == "# --- /dev/null", f"install_files writes new files only: {out}")
            path = line[len("# +++ "):]
            files[path] = ""
        elif path and line.startswith("# +"):
            files[path] += line[len("# +"):] + "\n"
        elif path and line == "# +":
            files[path] += "\n"
        before = line
    check(files, f"setup --dry-run showed no file to write: {out}")
    for path, text in files.items():
        write(path, text)
    return list(files)


class FakeDaemon:
    """A control socket that answers `status` (or, with answer=None, takes the connection and
    never answers)."""

    def __init__(self, path, answer=DAEMON_ANSWER, mode=0o777):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, mode)
        self.sock.listen(8)
        self.answer, self.path, self.held = answer, path, []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.answer is None:
                self.held.append(c)
                continue
            c.recv(4096)
            c.sendall(self.answer.encode())
            c.close()

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()
        os.remove(self.path)


def status_as(ws, user, code):
    """`status` and `--json status` as `user`: both exit `code`; returns the JSON."""
    expect(ws.dashctl("status"), code, user=user)
    out, _ = expect(ws.dashctl("--json", "status"), code, user=user)
    data = json.loads(out)
    check(data["exit_status"] == code, out)
    return data


def unprivileged():
    """The user a test that must not read the host's firewall runs dashctl as: nobody under
    root, else None (the caller itself)."""
    if os.geteuid() != 0:
        return None
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is needed to run as an unprivileged user")
    return 65534


def case_status_exit_codes(ws):
    """status exits 0 when all is in place and running, else 1 not installed, 2 out of date,
    3 dnsmasq down, 4 daemon down, the most fundamental winning; it judges only what it can read,
    and a firewall it cannot read is never 'not installed'. Runs without the privilege to read
    the firewall (as nobody under root): the lab's case status_exit_codes has the table."""
    user = unprivileged()
    os.chmod(ws.dir, 0o755)
    os.makedirs(os.path.join(ws.dir, "dnsmasq.d"))
    ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir))

    data = status_as(ws, user, 1)
    check(data["problems"] == ["not_installed", "dnsmasq_down", "daemon_down"] and data["unchecked"] == ["nftables"]
          and data["ok"] is False, f"nothing installed: {data}")
    files = install_files(ws, user)
    check(len(files) == 3, f"setup --dry-run showed {files}")
    data = status_as(ws, user, 3)
    check(data["problems"] == ["dnsmasq_down", "daemon_down"], f"dnsmasq down: {data}")
    ws.write("dnsmasq.pid", f"{os.getpid()}\n")  # a live process: dnsmasq runs
    data = status_as(ws, user, 4)
    check(data["problems"] == ["daemon_down"] and data["daemon"] is None, f"no daemon: {data}")

    sock = os.path.join(ws.dir, "control.sock")
    silent = FakeDaemon(sock, answer=None)  # there, but it never answers
    try:
        data = status_as(ws, user, 4)
        check("did not answer in time" in data.get("daemon_error", ""), f"a daemon that does not answer: {data}")
    finally:
        silent.close()
    bad = FakeDaemon(sock, answer='{"no": "status"}')
    try:
        data = status_as(ws, user, 4)
        check(data["problems"] == ["daemon_down"] and data["daemon"] is None, f"an answer that is no status: {data}")
    finally:
        bad.close()

    daemon = FakeDaemon(sock)
    try:
        # Everything it can read is in place and running: 0, though `ok` (which needs the
        # table) is false; the firewall is not judged.
        data = status_as(ws, user, 0)
        check(data["problems"] == [] and data["unchecked"] == ["nftables"] and data["ok"] is False, f"{data}")
        expect(ws.dashctl("status"), 0, user=user, stdout_has=["nftables: unknown", "listener: up 5s"])
        # A button the files do not have yet: out of date.
        ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir) + '\n[[button]]\nname = "hall"\nmac = "ac:63:be:00:00:01"\nip = "127.0.0.5"\n')
        data = status_as(ws, user, 2)
        check(data["problems"] == ["out_of_date"], f"a stale file: {data}")
        # And a file missing too: not installed wins.
        os.remove(files[0])
        data = status_as(ws, user, 1)
        check(data["problems"] == ["not_installed", "out_of_date"], f"missing and stale: {data}")
        ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir))
        install_files(ws, user)
        status_as(ws, user, 0)
        # Files that cannot be compared (the interface is gone): out of date, not all well.
        ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir).replace('"lo"', '"dashctl-none0"').replace(
            'listen_address = "127.0.0.1"', 'listen_address = "127.0.0.1"\nsubnet = "127.0.0.0/8"'))
        data = status_as(ws, user, 2)
        check(data["problems"] == ["out_of_date"] and any("does not exist" in w for w in data["warnings"]), f"{data}")
        ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir))
        if user is not None:
            # Files this user may not read: not judged, never 'missing'.
            os.chmod(os.path.join(ws.dir, "state"), 0o700)
            data = status_as(ws, user, 0)
            check(data["unchecked"] == ["nftables", "files"], f"unreadable files: {data}")
            os.chmod(os.path.join(ws.dir, "state"), 0o755)
    finally:
        daemon.close()
    if user is not None:
        # A socket this user may not use: whether a daemon runs is not known, and not judged.
        private = FakeDaemon(sock, mode=0o700)
        try:
            data = status_as(ws, user, 0)
            check(data["unchecked"] == ["nftables", "daemon"] and "Permission denied" in data["daemon_error"],
                  f"a socket of another user: {data}")
        finally:
            private.close()
    # Real errors keep their sysexits codes.
    ws.write("dashctl.toml", "[network\n")
    expect(ws.dashctl("status"), 65, user=user)


# ---- dhcp-event: dnsmasq's dhcp-script -----------------------------------------------------

EVENT = ["old", "ac:63:be:00:00:01", "10.77.0.201", "bedroom"]
WAKE_UP = {"DNSMASQ_SUPPLIED_HOSTNAME": "bedroom", "DNSMASQ_INTERFACE": "br-iot", "DNSMASQ_TIME_REMAINING": "3600"}
DATAGRAM = ('{"v":1,"action":"old","mac":"ac:63:be:00:00:01","ip":"10.77.0.201","host":"bedroom",'
            '"interface":"br-iot"}')


def event_socket(ws, name="events.sock"):
    """A datagram socket bound where the daemon's would be, as `dashctl run` binds it."""
    path = os.path.join(ws.dir, name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setblocking(False)
    return s, path


def received(s):
    """Every datagram waiting on `s`."""
    out = []
    while True:
        try:
            out.append(s.recv(65536).decode())
        except BlockingIOError:
            return out


def dnsmasq_env(**extra):
    """dnsmasq's environment for a script: only what it sets (none of the caller's DNSMASQ_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNSMASQ_")}
    env.update(extra)
    return env


def run_event(args, env, timeout=10):
    """Runs dhcp-event with exactly `env`; returns (exit code, stderr, seconds). A dhcp-event that
    waits for a daemon fails here, at the timeout; how soon it returns is for scripts/bench."""
    start = time.monotonic()
    p = subprocess.run([DASHCTL, *args], capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stderr, time.monotonic() - start


def case_dhcp_event_sends(ws):
    s, path = event_socket(ws)
    rc, err, _ = run_event(["dhcp-event", "--socket", path, *EVENT], dnsmasq_env(**WAKE_UP))
    check(rc == 0 and err == "", f"dhcp-event -> {rc}: {err}")
    got = received(s)
    check(got == [DATAGRAM], f"the daemon's socket got {got}, not {[DATAGRAM]}")
    # Without --socket it is the config's daemon.event_socket.
    ws.write("dashctl.toml", MAIN + f'\n[daemon]\nevent_socket = "{path}"\n')
    rc, err, _ = run_event(["-c", ws.config, "dhcp-event", *EVENT], dnsmasq_env(**WAKE_UP))
    check(rc == 0 and received(s) == [DATAGRAM], f"through the config: {rc}: {err}")
    # Words starting with '-' after ACTION, or after '--', are arguments, never options.
    rc, err, _ = run_event(["dhcp-event", "--socket", path, "add", "ac:63:be:00:00:01", "10.77.0.201", "-v"],
                           dnsmasq_env(**WAKE_UP))
    got = [json.loads(d) for d in received(s)]
    check(rc == 0 and len(got) == 1 and got[0]["host"] == "-v" and got[0]["action"] == "add", f"{rc} {err} {got}")
    rc, err, _ = run_event(["dhcp-event", "--socket", path, "--", "old", "ac:63:be:00:00:01", "10.77.0.201",
                            "--socket"], dnsmasq_env(**WAKE_UP))
    got = [json.loads(d) for d in received(s)]
    check(rc == 0 and len(got) == 1 and got[0]["host"] == "--socket", f"{rc} {err} {got}")
    # Global options go before ACTION; -v says what was sent.
    rc, err, _ = run_event(["dhcp-event", "-v", "--socket", path, *EVENT[:3]], dnsmasq_env(**WAKE_UP))
    got = [json.loads(d) for d in received(s)]
    check(rc == 0 and len(got) == 1 and got[0]["host"] == "" and "sent to " + path in err, f"{rc} {err} {got}")
    s.close()


# Events dhcp-event and the dhcp-script ignore, with the environment dnsmasq gives them.
IGNORED = [
    (["del", *EVENT[1:]], WAKE_UP),                     # a lease ends: not a press
    (EVENT, {"DNSMASQ_INTERFACE": "br-iot"}),             # dnsmasq starting: no supplied hostname
    (["add", *EVENT[1:]], {}),
    (["init"], {}),
    (["tftp", "1234", "10.77.0.201", "/srv/tftp/file"], {}),
    (["arp-add", "ac:63:be:00:00:01", "10.77.0.201"], {}),
    (["add", "00:01:00:01:2c:5e:1a:2b:ac:63:be:00:00:01", "fd00::201", "bedroom"], WAKE_UP),  # DHCPv6
    (["add", "06-ac:63:be:00:00:01", "10.77.0.201"], WAKE_UP),  # not Ethernet
]


def case_dhcp_event_ignored(ws):
    s, path = event_socket(ws)
    for args, env in IGNORED:
        rc, err, _ = run_event(["dhcp-event", "--socket", path, *args], dnsmasq_env(**env))
        check(rc == 0 and err == "", f"dhcp-event {' '.join(args)} -> {rc}: {err!r}")
        rc, err, _ = run_event(["-v", "dhcp-event", "--socket", path, *args], dnsmasq_env(**env))
        check(rc == 0 and "ignored: " in err and len(err.strip().splitlines()) == 1,
              f"dhcp-event -v {' '.join(args)} -> {rc}: {err!r}")
    got = received(s)
    check(got == [], f"ignored events reached the daemon: {got}")
    s.close()


def case_dhcp_event_no_daemon(ws):
    missing = os.path.join(ws.dir, "events.sock")
    rc, err, seconds = run_event(["dhcp-event", "--socket", missing, *EVENT], dnsmasq_env(**WAKE_UP))
    check(rc == 0, f"no daemon -> {rc}: {err}")
    check(err.strip().splitlines() == [f"dashctl: warning: dhcp-event: no daemon on {missing}; event dropped"], err)
    # A socket left by a daemon that is gone.
    s, path = event_socket(ws, "stale.sock")
    s.close()
    rc, err, seconds = run_event(["dhcp-event", "--socket", path, *EVENT], dnsmasq_env(**WAKE_UP))
    check(rc == 0 and f"no daemon on {path}" in err, f"stale socket -> {rc} in {seconds:.3f} s: {err}")
    # A daemon whose queue is full: dropped at once, not waited for.
    s, path = event_socket(ws, "full.sock")
    for _ in range(200):
        rc, err, seconds = run_event(["dhcp-event", "--socket", path, *EVENT], dnsmasq_env(**WAKE_UP))
        check(rc == 0, f"-> {rc} in {seconds:.3f} s: {err}")
        if err:
            break
    check(err.strip() == f"dashctl: warning: dhcp-event: the daemon on {path} is busy; event dropped", err)
    s.close()
    # No config to find the socket in: dnsmasq still sees success.
    rc, err, seconds = run_event(["-c", os.path.join(ws.dir, "nope.toml"), "dhcp-event", *EVENT], dnsmasq_env(**WAKE_UP))
    check(rc == 0 and len(err.strip().splitlines()) == 1 and "cannot read the config" in err,
          f"no config -> {rc} in {seconds:.3f} s: {err}")
    ws.write("dashctl.toml", "[network\n")
    rc, err, _ = run_event(["-c", ws.config, "dhcp-event", *EVENT], dnsmasq_env(**WAKE_UP))
    check(rc == 0 and len(err.strip().splitlines()) == 1 and "event dropped" in err, f"bad config -> {rc}: {err}")


def case_dhcp_event_usage(ws):
    for args in ([], ["old"], ["old", "ac:63:be:00:00:01"], [*EVENT, "extra"], ["add", "a", "b", "c", "d"]):
        rc, err, _ = run_event(["dhcp-event", "--socket", "/nonexistent/x.sock", *args], dnsmasq_env(**WAKE_UP))
        check(rc == 64 and err.startswith("dashctl: dhcp-event: "), f"dhcp-event {args} -> {rc}: {err}")
    expect(["dhcp-event", "--socket"], 64)
    expect(["dhcp-event", "--bogus", *EVENT], 64)
    expect(["help", "dhcp-event"], 0, stdout_has=["Usage: dashctl dhcp-event", "--socket", "ACTION MAC IP [HOST]"])
    # What no dnsmasq writes, for an event it would send: bad data, not a usage error.
    rc, err, _ = run_event(["dhcp-event", "--socket", "/nonexistent/x.sock", "add", "zz", "10.77.0.201"],
                           dnsmasq_env(**WAKE_UP))
    check(rc == 65 and "'zz' is not a MAC address" in err, f"-> {rc}: {err}")


# ---- the dhcp-script helper: dhcp-event's fast path, run by the kernel from setup's script ----

# The helper as built (ctest passes it; scripts/bench times it).
HELPER = os.environ.get("DASHCTL_DHCP_SCRIPT", "")


def run_script(ws, socket_path, args, env, timeout=10):
    """Runs the helper as dnsmasq does with setup's script: the kernel reads its "#!" line. Returns
    (exit code, stderr, seconds)."""
    script = os.path.join(ws.dir, "dhcp-script")
    with open(script, "w") as f:
        f.write(f"#!{HELPER} {socket_path}\n# Managed by dashctl: do not edit.\n")
    os.chmod(script, 0o755)
    start = time.monotonic()
    p = subprocess.run([script, *args], capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stderr, time.monotonic() - start


def case_dhcp_script_sends(ws):
    s, path = event_socket(ws)
    rc, err, _ = run_script(ws, path, EVENT, dnsmasq_env(**WAKE_UP))
    got = received(s)
    check(rc == 0 and err == "" and got == [DATAGRAM], f"-> {rc}: {err!r}; the daemon's socket got {got}")
    # Every word is an argument: it has no options.
    for host in ("-v", "--socket", "--"):
        rc, err, _ = run_script(ws, path, ["add", *EVENT[1:3], host], dnsmasq_env(**WAKE_UP))
        got = [json.loads(d) for d in received(s)]
        check(rc == 0 and len(got) == 1 and got[0]["host"] == host and got[0]["action"] == "add", f"{rc} {err} {got}")
    rc, err, _ = run_script(ws, path, EVENT[:3], dnsmasq_env(DNSMASQ_SUPPLIED_HOSTNAME=""))
    got = [json.loads(d) for d in received(s)]
    check(rc == 0 and len(got) == 1 and got[0]["host"] == "" and got[0]["interface"] == "", f"{rc} {err} {got}")
    s.close()


def case_dhcp_script_ignored(ws):
    s, path = event_socket(ws)
    for args, env in IGNORED:
        rc, err, _ = run_script(ws, path, args, dnsmasq_env(**env))
        check(rc == 0 and err == "", f"dhcp-script {' '.join(args)} -> {rc}: {err!r}")
    got = received(s)
    check(got == [], f"ignored events reached the daemon: {got}")
    s.close()


def case_dhcp_script_no_daemon(ws):
    # The same warnings as dhcp-event's, in dnsmasq's log.
    missing = os.path.join(ws.dir, "events.sock")
    rc, err, seconds = run_script(ws, missing, EVENT, dnsmasq_env(**WAKE_UP))
    check(rc == 0, f"no daemon -> {rc} in {seconds:.3f} s: {err}")
    check(err.strip().splitlines() == [f"dashctl: warning: dhcp-event: no daemon on {missing}; event dropped"], err)
    s, path = event_socket(ws, "stale.sock")
    s.close()
    rc, err, _ = run_script(ws, path, EVENT, dnsmasq_env(**WAKE_UP))
    check(rc == 0 and err.strip() == f"dashctl: warning: dhcp-event: no daemon on {path}; event dropped", err)
    s, path = event_socket(ws, "full.sock")
    for _ in range(200):
        rc, err, seconds = run_script(ws, path, EVENT, dnsmasq_env(**WAKE_UP))
        check(rc == 0, f"-> {rc} in {seconds:.3f} s: {err}")
        if err:
            break
    check(err.strip() == f"dashctl: warning: dhcp-event: the daemon on {path} is busy; event dropped", err)
    s.close()


def case_dhcp_script_usage(ws):
    # dhcp-event's exit codes and messages: 64 for a count of arguments no dnsmasq writes, 65 for bad data.
    for args in ([], ["old"], ["old", "ac:63:be:00:00:01"], [*EVENT, "extra"], ["add", "a", "b", "c", "d"]):
        rc, err, _ = run_script(ws, "/nonexistent/x.sock", args, dnsmasq_env(**WAKE_UP))
        check(rc == 64 and err.startswith("dashctl: dhcp-event: "), f"dhcp-script {args} -> {rc}: {err}")
    rc, err, _ = run_script(ws, "/nonexistent/x.sock", ["add", "zz", "10.77.0.201"], dnsmasq_env(**WAKE_UP))
    check(rc == 65 and "'zz' is not a MAC address" in err, f"-> {rc}: {err}")
    # Run by hand without the socket and the script's path.
    p = subprocess.run([HELPER, "old"], capture_output=True, text=True, env=dnsmasq_env(**WAKE_UP), timeout=10)
    check(p.returncode == 64 and "expected SOCKET SCRIPT ACTION MAC IP [HOST]" in p.stderr and
          "dashctl dhcp-event" in p.stderr, f"-> {p.returncode}: {p.stderr}")


def case_dhcp_script_helper_missing(ws):
    """A dashctl without its helper beside it (a copied binary, a broken install): setup says
    which program is missing and what to do, exit 69, before it changes anything; with
    dnsmasq.dhcp_script = false it does not need the helper."""
    user = unprivileged()
    os.chmod(ws.dir, 0o755)
    os.makedirs(os.path.join(ws.dir, "bin"))
    lone = os.path.join(ws.dir, "bin", "dashctl")
    shutil.copy2(DASHCTL, lone)
    os.makedirs(os.path.join(ws.dir, "dnsmasq.d"))
    ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir).replace("dhcp_script = false", "dhcp_script = true"))
    rc, out, err = run("-c", ws.config, "setup", "--dry-run", user=user, program=lone)
    check(rc == 69 and len(err.strip().splitlines()) == 2, f"-> {rc}\n{out}{err}")
    check("dhcp-script program" in err and "is not installed beside " + lone in err
          and "hint: reinstall dashctl, or set dnsmasq.dhcp_script = false" in err, err)
    check(os.listdir(os.path.join(ws.dir, "dnsmasq.d")) == [], "setup wrote files without its helper")
    ws.write("dashctl.toml", STATUS_MAIN.format(dir=ws.dir))
    rc, out, err = run("-c", ws.config, "setup", "--dry-run", user=user, program=lone)
    check(rc == 0 and "dhcp-script" not in out, f"without dnsmasq.dhcp_script -> {rc}\n{out}{err}")


def case_provision_usage(ws):
    """What provision refuses before it reaches for a button: a usage error (64) each, one line."""
    for args, text in ((["provision"], "--ssid names the network"),
                       (["provision", "--ssid", ""], "this one is empty"),
                       (["provision", "--ssid", "x" * 33], "33 bytes long: an SSID has at most 32"),
                       (["provision", "--ssid", "a\tb"], "control character"),
                       (["provision", "--info", "--ssid", "Home"], "--info only reads the device info"),
                       (["provision", "--info", "--force"], "--info only reads the device info"),
                       (["provision", "--ssid", "Home", "--name", "Bad Name"], "not a valid button name"),
                       (["provision", "--info", "--address", "192.168.0"], "not an IPv4 address"),
                       (["provision", "--info", "--interface", "a/b"], "--interface"),
                       (["provision", "--info", "--timeout", "0"], "--timeout"),
                       (["provision", "--ssid", "Home", "--exec", "echo $HOME"], "needs a shell")):
        _, err = expect(ws.dashctl(*args), 64, stderr_has=f"dashctl: provision: ")
        check(text in err and err.count("dashctl:") == 1, f"{args}: {text!r} not in: {err}")
    # The passphrase never comes from the command line.
    expect(ws.dashctl("provision", "--ssid", "Home", "--passphrase", "secret"), 64)
    expect(["help", "provision"], 0, stdout_has=["Usage: dashctl provision", "--passphrase-file", "--info"])


def main():
    if len(sys.argv) != 3 or not callable(globals().get("case_" + sys.argv[2])):
        print(__doc__, file=sys.stderr)
        return 64
    ws = Workspace()
    try:
        return run_case(globals()["case_" + sys.argv[2]], ws)
    finally:
        ws.close()


if __name__ == "__main__":
    sys.exit(main())
