#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dashctl setup, teardown and status in the lab: the real kernel's nftables and real dnsmasq."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import ENDPOINT, NOBODY, Dashctl, Lab, check, daemon_dashctl, ok, run_case  # noqa: E402


def table(lab):
    return lab.exec("router", "nft", "-a", "list", "table", "inet", "dashctl").stdout


def our_files(lab):
    st = lab.state
    return {p: os.path.exists(p) for p in (f"{st}/dnsmasq.d/dashctl.conf", f"{st}/dashctl/hosts",
                                           f"{st}/dashctl/dhcp-hosts", f"{st}/dashctl/dhcp-script")}


def status_json(d, code, user=None):
    """`dashctl --json status`, which must exit `code` (0 all well, 1 not installed, 2 out of
    date, 3 dnsmasq down, 4 daemon down: dashctl-status(8)); returns its JSON."""
    p = d("--json", "status", user=user)
    check(p.returncode == code, f"status exited {p.returncode}, not {code}:\n{p.stdout}{p.stderr}")
    status = json.loads(p.stdout)
    check(status["exit_status"] == code, f"{status}")
    return status


def case_setup_installs(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        out = ok(d("setup"), "setup")
        check("nftables: installed table inet dashctl" in out and "dnsmasq: restarted" in out, out)
        rules = table(lab)
        for want in ('iifname "br-iot" tcp dport 443 redirect to :1443', 'udp dport 53 redirect to :53',
                     'ct state established,related accept', 'udp dport 67 accept', 'tcp dport 1443 accept',
                     'meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited',
                     'hook forward priority filter'):
            check(want in rules, f"nft list table lacks {want!r}:\n{rules}")
        check(all(our_files(lab).values()), f"files: {our_files(lab)}")
        check(lab.file("dashctl/hosts").count(f"10.77.0.1 {ENDPOINT}\n") == 1, lab.file("dashctl/hosts"))
        pid = lab.file("dnsmasq.pid").strip()
        out = ok(d("setup"), "second setup")
        check(out.strip() == "already up to date", f"second setup: {out}")
        check(table(lab) == rules, "a second setup changed the table (handles differ)")
        check(lab.file("dnsmasq.pid").strip() == pid, "a second setup restarted dnsmasq")
        status = status_json(d, 4)  # all in place; no daemon runs
        check(status["ok"] and status["nftables"]["current"] and status["dnsmasq"]["running"], f"{status}")
        check(status["problems"] == ["daemon_down"] and status["unchecked"] == [], f"{status}")
        check([f["state"] for f in status["files"]] == ["current"] * 4, f"{status}")
        script = f"{lab.state}/dashctl/dhcp-script"
        check(os.stat(script).st_mode & 0o777 == 0o755, f"dhcp-script mode {os.stat(script).st_mode:o}")
        check("dhcp-script=" + script in lab.file("dnsmasq.d/dashctl.conf"), lab.file("dnsmasq.d/dashctl.conf"))


def listener(lab, seen, stop):
    """A plain TCP listener on the listen port, in the router namespace: proof that the
    button's port 443 lands there."""
    code = ("import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "s.bind(('0.0.0.0',1443));s.listen(8);print('ready',flush=True);s.settimeout(20)\n"
            "while True:\n c,a=s.accept();print(a[0],flush=True);c.close()\n")
    p = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-router", "/usr/bin/python3", "-c", code],
                         stdout=subprocess.PIPE, text=True)
    check(p.stdout.readline().strip() == "ready", "the test's listener did not start")

    def read():
        for line in p.stdout:
            seen.append(line.strip())
    threading.Thread(target=read, daemon=True).start()
    return p


def case_button_reaches_listener(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        seen = []
        p = listener(lab, seen, None)
        try:
            press = lab.press("btn1", "--attempts", "1")[0]
        finally:
            p.terminate()
            p.wait(timeout=5)
        dns = [s for s in press["steps"] if s["step"] == "dns" and s["name"] == ENDPOINT][0]
        check(dns["answer"] == ["10.77.0.1"], f"{ENDPOINT} did not resolve to the listen address: {dns}")
        tcp = [s for s in press["steps"] if s["step"] == "tcp"][0]
        check(tcp["to"] == "10.77.0.1:443" and tcp["outcome"] in ("closed", "reset"), f"TCP: {tcp}")
        check(seen == [press["ip"]], f"the listener on 1443 saw {seen}, not {press['ip']}")


def case_force_dns(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        # A hard-coded resolver (the LAN host runs none): the router answers anyway.
        press = lab.press("btn1", "--resolver", "10.78.0.2", "--attempts", "1")[0]
        dns = [s for s in press["steps"] if s["step"] == "dns" and s["name"] == ENDPOINT][0]
        check(dns["answer"] == ["10.77.0.1"], f"force_dns: {dns}")
        d.write_config("force_dns = false")
        ok(d("setup"), "setup without force_dns")
        press = lab.press("btn1", "--resolver", "10.78.0.2", "--attempts", "1")[0]
        dns = [s for s in press["steps"] if s["step"] == "dns" and s["name"] == ENDPOINT][0]
        check(dns["answer"] == [] and press["outcome"] == "no-address", f"without force_dns: {dns}")


def probe(lab, button, proto, addr, port):
    """From a button: (outcome, seconds) of one TCP connect or UDP exchange."""
    code = f"""
import socket, time, json
t = time.monotonic()
s = socket.socket(socket.AF_INET, socket.SOCK_{'STREAM' if proto == 'tcp' else 'DGRAM'})
s.settimeout(5)
try:
    s.connect(({addr!r}, {port}))
    if {proto == 'udp'!r}:
        s.send(b'x'); s.recv(16)
    r = 'open'
except ConnectionRefusedError: r = 'refused'
except socket.timeout: r = 'timeout'
except OSError as e: r = 'unreachable' if e.errno in (113, 101) else 'error %d' % e.errno
print(json.dumps([r, time.monotonic() - t]))
"""
    p = lab.exec(button, "/usr/bin/python3", "-c", code, timeout=20)
    return tuple(json.loads(p.stdout))


def case_isolation(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        lab.wake("btn1")
        tcp_before = probe(lab, "btn1", "tcp", "10.78.0.2", 7)
        check(tcp_before[0] == "open", f"without dashctl the LAN host is reachable: {tcp_before}")
        ok(d("setup"), "setup")
        for proto in ("tcp", "udp"):
            outcome, seconds = probe(lab, "btn1", proto, "10.78.0.2", 7)
            # Rejected, not dropped: a dropped one is a "timeout" after 5 s.
            check(outcome in ("refused", "unreachable"),
                  f"{proto} to the LAN host: {outcome} after {seconds:.2f} s (wanted a reject)")
        # To the router itself, anything but DHCP, DNS and the listener is rejected too.
        outcome, seconds = probe(lab, "btn1", "tcp", "10.77.0.1", 1883)
        check(outcome == "refused", f"TCP to the router's broker: {outcome} after {seconds:.2f} s")
        check(lab.file("lan.log").count("10.77.") == 1, f"the LAN host heard from the button: {lab.file('lan.log')}")
        lab.sleep("btn1")


def case_static_lease(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        first = lab.press("btn1", "--attempts", "1")[0]
        check(first["ip"] != "10.77.0.201", "already had the address")
        # Written by hand, as a person edits the config: setup takes it up. (button add would
        # apply the setup itself; test_learn's button_changes covers that.)
        os.makedirs(os.path.join(d.dir, "buttons.d"), exist_ok=True)
        with open(os.path.join(d.dir, "buttons.d", "btn1.toml"), "w") as f:
            f.write(f'mac = "{lab.env["MAC_BTN1"]}"\nip = "10.77.0.201"\n')
        out = ok(d("setup"), "setup after adding a button")
        check("updated" in out and "reloaded (SIGHUP" in out, f"setup: {out}")
        check(f"{lab.env['MAC_BTN1']},10.77.0.201,btn1" in lab.file("dashctl/dhcp-hosts"), lab.file("dashctl/dhcp-hosts"))
        press = lab.press("btn1", "--attempts", "1")[0]
        check(press["ip"] == "10.77.0.201", f"the button did not get its static address: {press}")


def case_teardown(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        out = ok(d("teardown"), "teardown")
        check("removed table inet dashctl" in out, out)
        check("dashctl" not in lab.exec("router", "nft", "list", "tables").stdout, "the table is still there")
        check(not any(our_files(lab).values()), f"files left: {our_files(lab)}")
        check(os.path.exists(d.config), "teardown removed the config")
        pid = lab.file("dnsmasq.pid").strip()
        check(pid and os.path.exists(f"/proc/{pid}"), "dnsmasq is not running after teardown")
        out = ok(d("teardown"), "second teardown")
        check(out.strip() == "nothing to remove", out)
        # The press is back to a plain network.
        check(lab.press("btn1", "--attempts", "1")[0]["outcome"] == "refused", "teardown left the redirect")


def case_dry_run(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        before = (lab.exec("router", "nft", "list", "ruleset").stdout, our_files(lab))
        out = ok(d("setup", "--dry-run"), "setup --dry-run")
        check((lab.exec("router", "nft", "list", "ruleset").stdout, our_files(lab)) == before, "--dry-run changed something")
        check("+++ " in out and "dashctl.conf" in out, f"no file diffs: {out}")
        p = subprocess.run(["ip", "netns", "exec", f"{lab.name}-router", "nft", "-c", "-f", "-"], input=out,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"nft -c -f - rejects the dry run: {p.stderr}")


def case_encoding_matches_nft(repo):
    """nft's own encoding of our text equals our libnftnl encoding, rule for rule."""
    with Lab(repo) as lab:
        d = Dashctl(lab, extra_network='forward_allow = [{ to = "10.78.0.5", proto = "tcp", port = 8123 }]')
        text = ok(d("setup", "--dry-run"), "setup --dry-run")
        p = subprocess.run(["ip", "netns", "exec", f"{lab.name}-router", "nft", "-f", "-"], input=text,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"nft -f: {p.stderr}")
        status = status_json(d, 1)  # the table only: dnsmasq's files are not installed
        check(status["nftables"]["present"] and status["nftables"]["current"],
              f"dashctl reads nft's table as different: {status['nftables']}")


def case_unprivileged(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        os.chmod(lab.state, 0o755)
        p = d("setup", user=65534)
        check(p.returncode == 77, f"setup as nobody exited {p.returncode}: {p.stderr}")
        check(p.stderr.startswith("dashctl: setup: ") and "hint:" in p.stderr, p.stderr)
        check("dashctl" not in lab.exec("router", "nft", "list", "tables").stdout, "a table appeared")
        check(not any(our_files(lab).values()), f"files appeared: {our_files(lab)}")
        # The firewall alone, with files writable: the kernel's refusal, tied to its command.
        for sub in ("dnsmasq.d", "dashctl"):
            os.chmod(os.path.join(lab.state, sub), 0o777)
        p = d("setup", user=65534)
        check(p.returncode == 77 and "Operation not permitted" in p.stderr, f"{p.returncode}: {p.stderr}")
        check(not any(our_files(lab).values()), f"files written after the firewall failed: {our_files(lab)}")
        # The firewall it cannot read is not judged; the files it can read are missing.
        p = d("status", user=65534)
        check(p.returncode == 1 and "needs root" in p.stdout, f"status as nobody: {p.stdout}{p.stderr}")
        status = status_json(d, 1, user=65534)
        check(status["problems"] == ["not_installed", "daemon_down"] and status["unchecked"] == ["nftables"],
              f"{status}")


def case_kernel_errors(repo):
    """A refused batch changes nothing, and its error names the command the kernel refused."""
    with Lab(repo) as lab:
        for mode, want in (("bad-chain", "adding chain forward: "), ("bad-rule", "adding rule to chain input (iifname \"br-iot\" tcp dport 443 redirect to :1443): ")):
            p = lab.exec("router", os.environ["NFT_PROBE"], mode)
            check(p.returncode == 71 and p.stdout.startswith(want), f"{mode}: {p.returncode} {p.stdout}{p.stderr}")
            check("dashctl_probe" not in lab.exec("router", "nft", "list", "tables").stdout,
                  f"{mode}: half a table was left")


def case_foreign_drop(repo):
    """Another table whose input chain drops by default: status says so."""
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        p = subprocess.run(["ip", "netns", "exec", f"{lab.name}-router", "nft", "-f", "-"], capture_output=True,
                           text=True, timeout=30,
                           input="table inet fw {\n chain input {\n  type filter hook input priority 10; policy drop;\n }\n}\n")
        check(p.returncode == 0, p.stderr)
        p = d("status")
        check(p.returncode == 4, f"status exited {p.returncode} (4: no daemon runs)")
        check("warning:  table inet fw chain input drops by default on hook input" in p.stdout, p.stdout)
        status = status_json(d, 4)
        check(status["ok"] is True and status["problems"] == ["daemon_down"], f"a warning is not a failure: {status}")


def case_first_setup(repo):
    """First-time flags write a starter config, then set up from it."""
    with Lab(repo) as lab:
        st = lab.state
        etc = os.path.join(st, "first")
        os.makedirs(etc)
        config = os.path.join(etc, "dashctl.toml")
        dashctl = os.environ["DASHCTL"]
        run = lambda *a: lab.exec("router", dashctl, "-c", config, *a)  # noqa: E731
        flags = ["--iot-interface", "br-iot", "--lease-range", "10.77.0.200-10.77.0.249",
                 "--conf-dir", f"{st}/dnsmasq.d", "--state-dir", f"{st}/dashctl", "--reload", f"pidfile:{st}/dnsmasq.pid"]
        p = run("setup", "--iot-interface", "br/iot", *flags[2:])
        check(p.returncode == 64 and "interface names cannot contain" in p.stderr, f"bad flag: {p.returncode} {p.stderr}")
        check(not os.path.exists(config), "a bad flag left a config behind")
        p = run("setup", *flags)
        out = ok(p, "first setup")
        check(out.startswith(f"config: wrote {config}\n") and "installed table inet dashctl" in out, out)
        check(ok(run("config", "check"), "config check").startswith(f"{config}: OK"), "the starter config is not valid")
        text = open(config).read()
        check('iot_interface = "br-iot"' in text and 'lease_range = "10.77.0.200-10.77.0.249"' in text, text)
        p = run("setup", *flags)
        check(p.returncode == 64 and "exists already" in p.stderr, f"flags over an existing config: {p.stderr}")
        check(ok(run("setup"), "setup").strip() == "already up to date", "second setup")
        p = lab.exec("router", dashctl, "-c", os.path.join(etc, "none.toml"), "setup")
        check(p.returncode == 66 and "dashctl setup --iot-interface" in p.stderr, f"no config: {p.stderr}")


def case_setup_all_or_nothing(repo):
    """setup is all or nothing: when dnsmasq's reload (a command that exits 1) fails after the table
    was replaced and the files written, the table's exact ruleset (a set, a map, a counter and a
    chain added by hand, counters' values) and each file (content and mode) are back as before,
    and the one-line error says what failed and that everything was put back. Without a table and
    files before, none are left. A setup that can reload then does all of it."""
    from dashtest import write
    from test_faults import one_line_error, set_reload  # a module of lab cases: imported where it is needed

    def listed():
        p = lab.exec("router", "nft", "list", "table", "inet", "dashctl")
        return p.stdout if p.returncode == 0 else None

    def files():
        return {path: (open(path).read(), os.stat(path).st_mode & 0o7777)
                for path, there in our_files(lab).items() if there}

    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        p = lab.exec("router", "nft", "-f", "-", input_text="""table inet dashctl {
  counter hand { packets 7 bytes 700 }
  set hand_made { type ipv4_addr; flags interval; elements = { 10.99.0.0/16, 192.0.2.1 } }
  map hand_ports { type inet_service : verdict; elements = { 7000 : jump hand_chain, 7001 : accept } }
  chain hand_chain { counter packets 3 bytes 300 comment "by hand"; return; }
}
add rule inet dashctl input ip saddr @hand_made tcp dport { 7002, 7003-7005 } counter name "hand" jump hand_chain
add rule inet dashctl input tcp dport vmap @hand_ports
""")
        check(p.returncode == 0, f"hand-made additions: {p.stderr}")
        os.chmod(f"{lab.state}/dashctl/hosts", 0o600)
        table_before, files_before, pid = listed(), files(), lab.file("dnsmasq.pid").strip()
        check("hand_made" in table_before and len(files_before) == 4, f"{table_before}\n{files_before}")

        # A new button changes the table (its MAC's rules) and dhcp-hosts; the reload fails.
        write(os.path.join(d.dir, "buttons.d", "btn1.toml"), f'mac = "{lab.env["MAC_BTN1"]}"\nip = "10.77.0.201"\n')
        set_reload(d, '["/bin/false"]')
        p = d("setup")
        check(one_line_error(p, "dashctl: setup: /bin/false reload failed: exit status 1; setup put everything back as "
                                "it was: table inet dashctl and dnsmasq's files"),
              f"setup with a failing reload: {p.returncode}\n{p.stdout}{p.stderr}")
        check(listed() == table_before, f"the table is not as it was:\n{listed()}\nnot\n{table_before}")
        check(files() == files_before, f"the files are not as they were: {files()}")
        check(lab.file("dnsmasq.pid").strip() == pid, "dnsmasq was restarted")

        # No table and no files before: none after.
        set_reload(d, f'"pidfile:{lab.state}/dnsmasq.pid"')
        ok(d("teardown"), "teardown")
        set_reload(d, '["/bin/false"]')
        p = d("setup")
        check(one_line_error(p, "dashctl: setup: /bin/false restart failed: exit status 1; setup put everything back "
                                "as it was: table inet dashctl and dnsmasq's files"),
              f"setup with a failing restart: {p.returncode}\n{p.stdout}{p.stderr}")
        check(listed() is None and files() == {}, f"left behind: {listed()} {files()}")

        set_reload(d, f'"pidfile:{lab.state}/dnsmasq.pid"')
        out = ok(d("setup"), "setup with a working reload")
        check("installed table inet dashctl" in out and "restarted" in out, out)
        check(lab.env["MAC_BTN1"] in lab.file("dashctl/dhcp-hosts"), lab.file("dashctl/dhcp-hosts"))
        status = status_json(d, 4)  # all in place; no daemon in this test
        check(status["problems"] == ["daemon_down"], f"status after the repair: {status}")


def start_daemon(lab, d):
    """dashctl run as nobody in the router namespace; returns the process once it answers on
    its control socket."""
    log = open(os.path.join(lab.state, "run.log"), "a+")
    p = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-router", "setpriv", f"--reuid={NOBODY}",
                          f"--regid={NOBODY}", "--clear-groups", d.binary, "-c", d.config, "run"],
                         stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        check(p.poll() is None, f"dashctl run exited {p.returncode}:\n{lab.file('run.log')}")
        out = d("--json", "status").stdout
        if out and json.loads(out)["daemon"]:
            return p
        time.sleep(0.1)
    check(False, f"the daemon does not answer:\n{lab.file('run.log')}")


def case_status_exit_codes(repo):
    """status exits 0 when all is installed, current and running, else the code of the most
    fundamental problem: 1 not installed, 2 out of date, 3 dnsmasq down, 4 daemon down."""
    with Lab(repo) as lab:
        d, _ = daemon_dashctl(lab)
        status = status_json(d, 1)
        check(status["problems"] == ["not_installed", "daemon_down"] and not status["ok"], f"before setup: {status}")
        check([f["state"] for f in status["files"]] == ["missing"] * 4, f"{status}")
        ok(d("setup"), "setup")
        check(status_json(d, 4)["problems"] == ["daemon_down"], "after setup, without a daemon")
        daemon = start_daemon(lab, d)
        try:
            status = status_json(d, 0)
            check(status["ok"] and status["problems"] == [] and status["unchecked"] == [], f"all well: {status}")
            p = d("status")
            check(p.returncode == 0 and "listener: up" in p.stdout, f"{p.returncode}: {p.stdout}{p.stderr}")
            # Without root the firewall is not judged, and what it can read is all well.
            status = status_json(d, 0, user=NOBODY)
            check(status["unchecked"] == ["nftables"] and not status["ok"], f"as nobody: {status}")

            # A button written by hand: dnsmasq's dhcp-hosts file is behind the config.
            os.makedirs(os.path.join(d.dir, "buttons.d"), exist_ok=True)
            with open(os.path.join(d.dir, "buttons.d", "btn1.toml"), "w") as f:
                f.write(f'mac = "{lab.env["MAC_BTN1"]}"\nip = "10.77.0.201"\n')
            status = status_json(d, 2)
            check(status["problems"] == ["out_of_date"] and "stale" in [f["state"] for f in status["files"]],
                  f"a stale file: {status}")
            ok(d("setup"), "setup after the button")
            status_json(d, 0)
            # The table changed behind dashctl's back.
            lab.exec("router", "nft", "flush", "chain", "inet", "dashctl", "input", check_rc=True)
            status = status_json(d, 2)
            check(status["problems"] == ["out_of_date"] and status["nftables"]["differences"], f"{status}")
            ok(d("setup"), "setup after the flush")
            status_json(d, 0)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
        check(status_json(d, 4)["problems"] == ["daemon_down"], "the daemon stopped")
        pid = int(lab.file("dnsmasq.pid").strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.05)
        status = status_json(d, 3)
        check(status["problems"] == ["dnsmasq_down", "daemon_down"], f"dnsmasq stopped: {status}")
        ok(d("teardown"), "teardown")
        status = status_json(d, 1)
        check(status["problems"] == ["not_installed", "dnsmasq_down", "daemon_down"], f"after teardown: {status}")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
