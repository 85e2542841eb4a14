#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Faults (DESIGN.md section 8): SIGKILL at any moment never leaves a half-written config or
lease file; a broker outage loses no press within the queue bound; a failed reload of dnsmasq
is reported, leaves dnsmasq on the old files, and a later setup finishes the job."""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import ENDPOINT, NOBODY, Dashctl, Lab, check, ok, run_case  # noqa: E402
from test_learn import LEARN_TABLE, has_table, start_learn  # noqa: E402
from test_run import Daemon, Subscriber, prepare  # noqa: E402
from dashtest import write  # noqa: E402
TEMP = re.compile(r"^\.(.+)\.[A-Za-z0-9]{6}$")  # util::write_file_atomic's temporary files


def temps(directory, of):
    """write_file_atomic's leftovers for the file `of` in `directory`."""
    if not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if (m := TEMP.match(n)) and m.group(1) == of)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def one_line_error(p, prefix):
    """An error as dashctl(8) says: one line 'dashctl: ...' on stderr, plus maybe a hint line."""
    lines = p.stderr.splitlines()
    return (p.returncode != 0 and len(lines) in (1, 2) and lines[0].startswith(prefix)
            and (len(lines) == 1 or lines[1].startswith("hint: ")))


# ---- kill_button_add ------------------------------------------------------------------------

ADD_CONFIG = """[network]
iot_interface = "br-iot"
listen_port = 1443
lease_range = "10.77.0.200-10.77.0.249"
[mqtt]
url = "mqtt://10.77.0.1:1883"
"""


def case_kill_button_add(repo):
    """`dashctl button add` SIGKILLed at random moments, 200 times: after each kill every file of
    the config is absent, or exactly its old or new text, and `config check` passes.

    No lab: it needs no root, but lives here beside the other faults. Three kinds of kill, a
    third each, two of them set by what the add has done rather than by the clock, so that a
    busy machine changes how long the test takes, not what it tests: at a uniform time from 0
    to 1.2 times an unkilled add's run (mostly in start-up: the write is about 2 ms of a 300 ms
    run); at the moment the temporary file appears in buttons.d (found by polling), plus 0-2
    ms, which lands in the write itself, between mkostemp and rename; and at the moment the
    button's file appears, after the rename. Rounds are counted, never timed: about 0.6 s a
    round on an idle machine, two or three times that on a busy one."""
    rounds = int(os.environ.get("FAULTS_ROUNDS", "200"))
    binary = os.environ["DASHCTL"]
    tmp = tempfile.mkdtemp(prefix="dashctl-faults-")
    try:
        config = os.path.join(tmp, "dashctl.toml")
        write(config, ADD_CONFIG)
        bdir = os.path.join(tmp, "buttons.d")
        os.makedirs(bdir)
        final = os.path.join(bdir, "k.toml")
        add = [binary, "-c", config, "button", "add", "k", "--mac", "ac:63:be:12:34:56", "--ip", "10.77.0.210",
               "--window", "2s", "--mqtt", "kitchen/light=TOGGLE"]

        def config_check(buttons):
            p = subprocess.run([binary, "-c", config, "config", "check"], capture_output=True, text=True, timeout=30)
            want = f"OK, {buttons} button{'' if buttons == 1 else 's'}"
            check(p.returncode == 0 and want in p.stdout, f"config check: {p.returncode} {p.stdout}{p.stderr}")

        # An unkilled add, three times: its text, how long it runs, when the file appears.
        runs, appear = [], []
        for _ in range(3):
            t0 = time.monotonic()
            p = subprocess.Popen(add, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            seen = None
            while p.poll() is None:
                if seen is None and os.path.exists(final):
                    seen = time.monotonic() - t0
                time.sleep(0.0005)
            runs.append(time.monotonic() - t0)
            check(p.returncode == 0, f"button add exited {p.returncode}: {p.stderr.read()}")
            appear.append(seen if seen is not None else runs[-1])
            new = read(final)
            os.unlink(final)
        check(new and 'mac = "ac:63:be:12:34:56"' in new and "kitchen/light" in new, f"button add wrote {new!r}")
        run_time, write_time = max(runs), sum(appear) / len(appear)
        print(f"unkilled add: {', '.join(f'{r:.3f}' for r in runs)} s; the file appears at {write_time:.3f} s")

        outcomes = {"old": 0, "new": 0, "temp left": 0}
        t_start = time.monotonic()
        done = 0
        for i in range(rounds):
            done += 1
            kind = i % 3
            p = subprocess.Popen(add, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            if kind == 0:
                time.sleep(random.uniform(0, 1.2 * run_time))
            else:
                # Busy-wait for the temporary file (kind 1) or the button's file (kind 2), or the
                # end; bounded by the process itself, which ends on its own.
                while p.poll() is None:
                    if os.path.exists(final) or (kind == 1 and any(n.startswith(".k.toml.") for n in os.listdir(bdir))):
                        break
                if kind == 1:
                    time.sleep(random.uniform(0, 0.002))
            p.kill()
            p.wait(timeout=10)
            # Every file: absent, the old or the new text.
            check(sorted(os.listdir(tmp)) == ["buttons.d", "dashctl.toml"], f"round {i}: {os.listdir(tmp)}")
            check(read(config) == ADD_CONFIG, f"round {i}: the config changed: {read(config)!r}")
            text = read(final)
            check(text in (None, new), f"round {i} (kind {kind}): k.toml is neither absent nor whole: {text!r}")
            left = [n for n in os.listdir(bdir) if n != "k.toml"]
            stray = [n for n in left if not TEMP.match(n) or not n.startswith(".k.toml.")]
            check(not stray, f"round {i}: unexpected files in buttons.d: {stray}")
            if len(left) > outcomes["temp left"]:
                outcomes["temp left"] += 1  # this kill left one more (they are never removed)
            outcomes["new" if text == new else "old"] += 1
            config_check(1 if text == new else 0)
            if text is not None:
                os.unlink(final)  # back to the old state: no button k
        took = time.monotonic() - t_start
        leftovers = temps(bdir, "k.toml")
        print(f"{done} kills in {took:.0f} s: {outcomes['old']} before the rename (old), {outcomes['new']} after "
              f"(new), {len(leftovers)} temporary files left behind by kills between mkostemp and rename")
        check(outcomes["old"] >= done // 10 and outcomes["new"] >= done // 10,
              f"the kills did not spread over the write: {outcomes}")
        # Leftovers are hidden: the loader skips them, a later add and config check cope.
        p = subprocess.run(add, capture_output=True, text=True, timeout=30)
        check(p.returncode == 0 and read(final) == new, f"add after the kills: {p.returncode} {p.stderr}")
        config_check(1)
        p = subprocess.run([binary, "-c", config, "button", "list", "--names"], capture_output=True, text=True,
                           timeout=30)
        check(p.stdout.split() == ["k"], f"button list: {p.stdout}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- kill_learn -----------------------------------------------------------------------------

# One DNS query for each line read, from a button's namespace: much faster than a press.
ASKER = r"""
import socket, struct, sys
q = (struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
     + b"".join(bytes([len(p)]) + p.encode() for p in sys.argv[1].split(".")) + b"\0" + struct.pack(">HH", 1, 1))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for line in sys.stdin:
    s.sendto(q, ("10.77.0.1", 53))
    try:
        s.recv(512)
    except OSError:
        pass
    print("asked", flush=True)
"""


class Asker:
    def __init__(self, lab, button):
        self.p = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-{button}", "/usr/bin/python3", "-c", ASKER,
                                   ENDPOINT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self):
        self.p.stdin.write("x\n")
        self.p.stdin.flush()
        check(self.p.stdout.readline().strip() == "asked", "the DNS asker died")

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=5)


def reads_since(lab, offset, path, seconds=2.0):
    """Whether dnsmasq's log says it re-read `path` (a SIGHUP) after byte `offset`."""
    pattern = re.compile(r"read " + re.escape(path) + r"(\s|$)", re.M)
    deadline = time.monotonic() + seconds
    while True:
        if pattern.search(lab.file("dnsmasq.log")[offset:]):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def case_kill_learn(repo):
    """`dashctl learn` SIGKILLed around its save, ROUNDS times in one lab: the button file is
    absent or whole, dhcp-hosts is the old or the new text (never new without the button),
    `config check` passes, and a following `setup` removes learn's table, brings dhcp-hosts in
    step with the buttons and has dnsmasq re-read it.

    Each round starts learn, has the button ask DNS for an Amazon name (one query, from a
    helper that stays in the button's namespace, rather than a whole 1 s press), and kills
    learn: a quarter of the rounds at a uniform time from the query to 1.2 times an unkilled
    learn's exit; a quarter when the button file appears, plus a uniform time up to the rest
    of the save; a quarter at once when dhcp-hosts's temporary file appears (polled every
    0.2 ms), in the lease file's write; a quarter at once when dhcp-hosts has its new text,
    between its rename and the SIGHUP. Then setup, and, when the button was saved, its file
    removed and setup again. Each round starts the sanitizer build of dashctl four or five
    times (learn, config check, setup, setup), about 0.2 s each: about 1.1 s a round on an
    idle machine, so 120 rounds take about 2 minutes, and two or three times that on a busy
    one: rounds are counted, never timed, and three of the four kinds of kill are set by what
    learn has done, not by the clock."""
    rounds = int(os.environ.get("FAULTS_LEARN_ROUNDS", "120"))
    with Lab(repo, buttons=1) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        state = os.path.join(lab.state, "dashctl")
        hosts = os.path.join(state, "dhcp-hosts")
        bdir = os.path.join(d.dir, "buttons.d")
        bfile = os.path.join(bdir, "button-1.toml")
        old_hosts = read(hosts)
        lab.wake("btn1")
        asker = Asker(lab, "btn1")

        def reset():
            if os.path.exists(bfile):
                os.unlink(bfile)  # the test's own reset: button remove would cost a start of dashctl
            out = ok(d("setup"), "setup (reset)")
            check(read(hosts) == old_hosts and not has_table(lab, LEARN_TABLE), f"reset: {out}\n{read(hosts)}")

        # An unkilled learn: the new texts, and when the save happens after the query.
        p = start_learn(d, "learn", "--timeout", "30s")
        asker.ask()
        t0 = time.monotonic()
        t_file = t_hosts = None
        while p.poll() is None and time.monotonic() - t0 < 20:
            now = time.monotonic() - t0
            if t_file is None and os.path.exists(bfile):
                t_file = now
            if t_hosts is None and read(hosts) != old_hosts:
                t_hosts = now
            time.sleep(0.0005)
        t_exit = time.monotonic() - t0
        out, err = p.communicate(timeout=10)
        check(p.returncode == 0 and t_file is not None, f"learn exited {p.returncode}:\n{out}{err}")
        new_button, new_hosts = read(bfile), read(hosts)
        mac = lab.env["MAC_BTN1"].lower()
        check(f"{mac},10.77.0.200,button-1\n" in new_hosts and f'mac = "{mac}"' in new_button,
              f"learned:\n{new_button}\n{new_hosts}")
        print(f"unkilled learn: the button file at {t_file:.3f} s after the query, dhcp-hosts at "
              f"{t_hosts if t_hosts is None else round(t_hosts, 3)} s, exit at {t_exit:.3f} s")
        reset()

        seen = {}
        not_in_force = []
        t_start = time.monotonic()
        done = 0
        for i in range(rounds):
            done += 1
            kind = i % 4
            log_at = len(lab.file("dnsmasq.log"))
            p = start_learn(d, "learn", "--timeout", "30s")
            asker.ask()
            t0 = time.monotonic()
            if kind == 0:
                time.sleep(random.uniform(0, 1.2 * t_exit))
            else:
                # learn ends by itself at its --timeout: the deadline only guards the test.
                deadline = t0 + 40
                while p.poll() is None and time.monotonic() < deadline:
                    if kind == 1 and os.path.exists(bfile):
                        break
                    if kind == 2 and (temps(state, "dhcp-hosts") or read(hosts) != old_hosts):
                        break
                    if kind == 3 and read(hosts) != old_hosts:
                        break
                    time.sleep(0.0002)
                if kind == 1:
                    time.sleep(random.uniform(0, max(0.0, t_exit - t_file) * 1.1))
            finished = p.poll() is not None
            p.kill()
            p.wait(timeout=10)
            p.stdout.close()
            p.stderr.close()

            button, lease = read(bfile), read(hosts)
            check(button in (None, new_button), f"round {i}: button-1.toml is not whole: {button!r}")
            check(lease in (old_hosts, new_hosts), f"round {i}: dhcp-hosts is neither old nor new: {lease!r}")
            check(lease == old_hosts or button is not None, f"round {i}: a lease for a button that is not saved")
            stray = [n for n in os.listdir(bdir) if n != "button-1.toml" and not TEMP.match(n)]
            check(not stray, f"round {i}: {stray} in buttons.d")
            ok(d("config", "check"), f"round {i}: config check")
            outcome = ("finished" if finished else "killed") + (", button" if button else "") + \
                      (", lease" if lease == new_hosts else "")
            seen[outcome] = seen.get(outcome, 0) + 1

            # setup repairs: learn's table gone, dhcp-hosts in step with the buttons, in force.
            out = ok(d("setup"), f"round {i}: setup after the kill")
            check(not has_table(lab, LEARN_TABLE), f"round {i}: setup left learn's table:\n{out}")
            check(read(hosts) == (new_hosts if button else old_hosts), f"round {i}: dhcp-hosts after setup:\n"
                                                                      f"{read(hosts)}\n{out}")
            if button and not reads_since(lab, log_at, hosts):
                not_in_force.append(f"round {i} ({outcome}): setup said {out.strip()!r}")
            reset()
        asker.close()
        took = time.monotonic() - t_start
        leftovers = {"buttons.d": temps(bdir, "button-1.toml"), "state_dir": temps(state, "dhcp-hosts")}
        print(f"{done} rounds in {took:.0f} s: " + "; ".join(f"{k}: {v}" for k, v in sorted(seen.items())))
        print(f"temporary files left by kills: {sum(len(v) for v in leftovers.values())} {leftovers}")
        # setup removes them once they are a minute old (no writer takes that long); one more,
        # planted, so that there is at least one; a young one and a foreign one stay.
        planted = os.path.join(state, ".dhcp-hosts.Zz9Zz9")
        with open(planted, "w") as f:
            f.write("half a line")
        young, foreign = os.path.join(bdir, ".young.toml.Aa1Aa1"), os.path.join(state, ".other.Aa1Aa1")
        for path in (young, foreign):
            with open(path, "w") as f:
                f.write("x")
        old = time.time() - 120
        stale = [os.path.join(bdir, n) for n in leftovers["buttons.d"]] + \
                [os.path.join(state, n) for n in leftovers["state_dir"]] + [planted, foreign]
        for path in stale:
            os.utime(path, (old, old))
        out = ok(d("setup"), "setup with stale temporaries")
        check(f"removed {len(stale) - 1} temporary file" in out, f"setup said:\n{out}")
        check(not temps(bdir, "button-1.toml") and not temps(state, "dhcp-hosts"), f"left: {os.listdir(state)}")
        check(os.path.exists(young) and os.path.exists(foreign), "setup removed a young or a foreign file")
        check(sum(v for k, v in seen.items() if "button" not in k) >= done // 10
              and sum(v for k, v in seen.items() if "lease" in k) >= done // 10,
              f"the kills did not spread over the save: {seen}")
        check(not not_in_force, "dnsmasq never re-read the new dhcp-hosts:\n" + "\n".join(not_in_force))


# ---- broker_outage_bound --------------------------------------------------------------------

QUEUE_LIMIT = 16
HOLD = "dashctl_test_hold"  # a table in the lab's router namespace, never the host's


def case_broker_outage_bound(repo):
    """Two outages of mosquitto with the daemon running. In the first, 6 presses (12 messages:
    a press event and an mqtt action each) stay under mqtt.queue_limit (16): all arrive after
    the broker is back, exactly once, in order per button. In the second, 12 presses (24
    messages) overflow it: the oldest 8 (the first 4 presses) are dropped, the rest arrive in
    order, and status counts 8 dropped.

    Unlike broker_outage (one press, the default limit), this counts every message. The
    presses are sequential, 1 attempt each, and dnsmasq's dhcp-script is off, so each press
    is one sighting (its connection) and one press of the daemon, whatever the timing. While
    the broker starts again the daemon (uid nobody) is held off by a reject rule in the lab's
    router namespace, so that the test's new subscriber is there before the queue is sent."""
    with Lab(repo) as lab:
        names = ("btn1", "btn2", "btn3")
        d, _ = prepare(lab, names)
        text = open(d.config).read()
        text = text.replace("[mqtt]\n", f"[mqtt]\nqueue_limit = {QUEUE_LIMIT}\n", 1)
        text = text.replace("[dnsmasq]\n", "[dnsmasq]\ndhcp_script = false\n", 1)
        write(d.config, text)
        for b in names:
            i = b[3:]
            write(os.path.join(d.dir, "buttons.d", f"{b}.toml"),
                  f'mac = "{lab.env[f"MAC_BTN{i}"]}"\nip = "10.77.0.20{i}"\nwindow = "1s"\n'
                  'on_press = [{ mqtt = { topic = "home/{button}/toggle", payload = "TOGGLE {count}" } }]\n')
        ok(d("setup"), "setup")
        daemon = Daemon(d)
        subs = [Subscriber(lab, "#")]

        def hold_daemon(on):
            rules = (f"table inet {HOLD}\ndelete table inet {HOLD}\n" if not on else
                     f"table inet {HOLD} {{\n chain out {{\n  type filter hook output priority 0;\n"
                     f"  meta skuid {NOBODY} tcp dport 1883 reject with tcp reset\n }}\n}}\n")
            p = subprocess.run(["ip", "netns", "exec", f"{lab.name}-router", "nft", "-f", "-"], input=rules,
                               capture_output=True, text=True, timeout=30)
            check(p.returncode == 0, f"nft in the lab: {p.stderr}")

        def outage(presses, total):
            lab.script("lab", "broker", "stop")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and daemon.status()["mqtt"]["connected"]:
                time.sleep(0.1)
            check(not daemon.status()["mqtt"]["connected"], "the daemon did not notice the broker stop")
            last = {}
            for b in presses:
                # Past the button's 1 s window since its last press ended (its connection is
                # in it): a new press, not the same one.
                if b in last:
                    time.sleep(max(0.0, last[b] + 1.3 - time.monotonic()))
                press = lab.press(b, "--attempts", "1")[0]
                last[b] = time.monotonic()
                check(any(s["step"] == "tcp" for s in press["steps"]), f"{b}: {press}")
            # Every press counted (on a loaded machine the last one may still be on its way),
            # then what the queue holds.
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and daemon.status()["counters"]["presses"] < total:
                time.sleep(0.1)
            check(daemon.status()["counters"]["presses"] == total, f"presses: {daemon.status()['counters']}")
            time.sleep(0.3)
            st = daemon.status()["mqtt"]
            # The test's subscriber must be on the restarted broker before the daemon is back,
            # whenever the daemon's back-off tries: the daemon (and only it: uid nobody) is
            # held off in the lab's router namespace meanwhile.
            hold_daemon(True)
            try:
                lab.script("lab", "broker", "start")
                subs[0].close()
                subs[0] = Subscriber(lab, "#")
                check(not daemon.status()["mqtt"]["connected"], "the daemon reconnected while held off")
            finally:
                hold_daemon(False)
            return st

        def delivered(b):
            sub = subs[0]
            events = [json.loads(e) for e in sub.on(f"dashctl/{b}/press")]
            return [e["count"] for e in events], sub.on(f"home/{b}/toggle")

        def wait_all(want, seconds=75):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and any(delivered(b) != w for b, w in want.items()):
                time.sleep(0.2)
            time.sleep(1.0)  # a duplicate would come now
            for b, w in want.items():
                check(delivered(b) == w, f"{b}: delivered {delivered(b)}, wanted {w}\n{subs[0].lines}\n"
                                         f"{daemon.status()['mqtt']}\n{daemon.text()[-3000:]}")

        def wanted(counts):
            return (counts, [f"TOGGLE {c}" for c in counts])

        # Within the bound: 6 presses, 12 messages.
        st = outage(names * 2, 6)
        check(st["queued"] == 12 and st["dropped"] == 0, f"queued during the first outage: {st}")
        wait_all({b: wanted([1, 2]) for b in names})
        st = daemon.status()
        check(st["mqtt"]["queued"] == 0 and st["mqtt"]["dropped"] == 0 and st["counters"]["presses"] == 6,
              f"after the first outage: {st['mqtt']} {st['counters']}")

        # Beyond it: 12 presses, 24 messages, 8 dropped (the first 4 presses of the outage).
        st = outage(names * 4, 18)
        check(st["queued"] == QUEUE_LIMIT and st["dropped"] == 8, f"queued during the second outage: {st}")
        wait_all({"btn1": wanted([5, 6]), "btn2": wanted([4, 5, 6]), "btn3": wanted([4, 5, 6])})
        st = daemon.status()
        check(st["mqtt"]["dropped"] == 8 and st["mqtt"]["queued"] == 0 and st["counters"]["presses"] == 18,
              f"after the second outage: {st['mqtt']} {st['counters']}")
        out = ok(d("status", user=NOBODY), "status")
        check(re.search(r"^mqtt: +connected, \d+ published, 0 queued, 8 dropped$", out, re.M), out)
        check(daemon.text().count("dropping the oldest") == 1, f"the drop warning:\n{daemon.text()}")
        daemon.stop()
        subs[0].close()


# ---- reload_fails ---------------------------------------------------------------------------

def set_reload(d, value):
    text = open(d.config).read()
    text = re.sub(r"^reload = .*$", lambda _: f"reload = {value}", text, count=1, flags=re.M)
    write(d.config, text)


NOT_RELOADED = "dnsmasq has not re-read its files since dashctl changed them"


def case_reload_fails(repo):
    """dnsmasq's reload fails after a change (a reload command that exits 1), in button add's and
    learn's save and in setup: the error is one line and exit status 69; dnsmasq keeps serving the old leases (a press
    gets a dynamic address, not the new static one); status says the files are not in force; and the next
    setup that can reload does, even though the files on disk are already the new ones."""
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        pidfile = f"pidfile:{lab.state}/dnsmasq.pid"
        hosts = os.path.join(lab.state, "dashctl", "dhcp-hosts")
        old_hosts = read(hosts)
        mac1 = lab.env["MAC_BTN1"]

        def status():
            return json.loads(d("--json", "status").stdout)

        # 1. button add, which applies the setup, then setup, with a reload command that fails.
        set_reload(d, '["/bin/false"]')
        p = d("button", "add", "btn1", "--mac", mac1, "--ip", "10.77.0.201")
        bfile1 = os.path.join(d.dir, "buttons.d", "btn1.toml")
        check(p.returncode == 69 and one_line_error(
              p, f"dashctl: button add: saved button btn1 in {bfile1}, but could not apply the setup: ")
              and "/bin/false reload failed" in p.stderr and os.path.exists(bfile1),
              f"button add with a failing reload: {p.returncode}\n{p.stdout}{p.stderr}")
        p = d("setup")
        check(p.returncode == 69 and one_line_error(p, "dashctl: setup: /bin/false reload failed"),
              f"setup with a failing reload: {p.returncode}\n{p.stdout}{p.stderr}")
        press = lab.press("btn1", "--attempts", "1")[0]
        check(press["ip"] != "10.77.0.201", f"dnsmasq took up the new lease without a reload: {press}")
        st = status()
        check(not st["ok"] and any(NOT_RELOADED in w for w in st["warnings"]),
              f"status does not say the files are not in force: {st}")
        check(NOT_RELOADED in d("status").stdout, "status's text")
        p = d("setup")
        check(p.returncode == 69, f"setup again, still failing: {p.returncode}\n{p.stdout}{p.stderr}")
        set_reload(d, f'"{pidfile}"')
        out = ok(d("setup"), "setup with a working reload")
        check("reloaded" in out, f"setup did not reload dnsmasq with the files it wrote before:\n{out}")
        check(status()["ok"], f"status after the repair: {status()}")
        press = lab.press("btn1", "--attempts", "1")[0]
        check(press["ip"] == "10.77.0.201", f"the new lease is not in force after setup: {press}")
        check(ok(d("setup"), "setup").strip() == "already up to date", "a fourth setup")

        # 2. learn's save, with a reload command that fails.
        set_reload(d, '["/bin/false"]')
        p = start_learn(d, "learn", "--timeout", "60s")
        lab.press("btn3", "--attempts", "1")
        out, err = p.communicate(timeout=60)
        bfile = os.path.join(d.dir, "buttons.d", "button-1.toml")
        check(p.returncode == 69 and len(err.splitlines()) in (1, 2) and err.startswith(
              f"dashctl: learn: saved button button-1 in {bfile}, but could not apply the setup: ")
              and "/bin/false reload failed" in err, f"learn with a failing reload: {p.returncode}\n{out}{err}")
        check(not has_table(lab, LEARN_TABLE), "learn's table outlived it")
        check(os.path.exists(bfile), "the learned button was not saved")
        check(lab.press("btn3", "--attempts", "1")[0]["ip"] != "10.77.0.200", "the lease in force without a reload")
        check(any(NOT_RELOADED in w for w in status()["warnings"]), f"status after learn: {status()}")
        set_reload(d, f'"{pidfile}"')
        out = ok(d("setup"), "setup after learn")
        check("reloaded" in out, out)
        check(lab.press("btn3", "--attempts", "1")[0]["ip"] == "10.77.0.200", "the learned lease after the repair")
        check(read(hosts) != old_hosts, "dhcp-hosts")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
