#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The lab itself: it comes and goes without a trace, a press without dashctl behaves as a
button would on a plain network, and two labs do not see each other."""
import os
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import Lab, check, run_case  # noqa: E402


def host_snapshot():
    """What a lab must never change on the host."""
    sh = lambda *c: subprocess.run(c, capture_output=True, text=True).stdout  # noqa: E731
    links = sorted(line.split(":")[1].strip().split("@")[0] for line in sh("ip", "-o", "link", "show").splitlines())
    return {"links": links, "routes": sh("ip", "route", "show", "table", "all"), "ruleset": sh("nft", "list", "ruleset")}


def alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except (ProcessLookupError, ValueError):
        return False


def namespaces(prefix):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return sorted(l.split()[0] for l in out.splitlines() if l.startswith(prefix + "-"))


def case_up_down(repo):
    before = host_snapshot()
    lab = Lab(repo)
    with lab:
        check(namespaces(lab.name) == sorted(f"{lab.name}-{n}" for n in ("router", "lan", "btn1", "btn2", "btn3")),
              f"namespaces: {namespaces(lab.name)}")
        pids = {n: lab.file(f"{n}.pid").strip() for n in ("dnsmasq", "mosquitto", "lan")}
        check(all(alive(p) for p in pids.values()), f"daemons not running: {pids}")
        again = lab.script("lab", "up")
        check("up already" in again.stdout, f"second up: {again.stdout}")
        check({n: lab.file(f"{n}.pid").strip() for n in pids} == pids, "second up restarted the daemons")
        # Real mosquitto answers on the IoT address.
        sub = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-router", "mosquitto_sub", "-h", "10.77.0.1",
                                "-t", "lab/check", "-C", "1", "-W", "5"], stdout=subprocess.PIPE, text=True)
        for _ in range(50):
            lab.exec("router", "mosquitto_pub", "-h", "10.77.0.1", "-t", "lab/check", "-m", "hello")
            try:
                out, _ = sub.communicate(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                continue
        check(out.strip() == "hello", f"mosquitto round trip: {out!r}")
        # The buttons sleep: their links are down until a press.
        check("state DOWN" in lab.exec("btn1", "ip", "link", "show", "wlan0").stdout, "btn1's link is up at rest")
        check(lab.exec("btn1", "ip", "link", "show", "wlan0").stdout.count(lab.env["MAC_BTN1"]) == 1, "btn1's MAC")
    check(namespaces(lab.name) == [], f"namespaces left: {namespaces(lab.name)}")
    check(not os.path.exists(lab.state), f"state left: {lab.state}")
    check(not any(alive(p) for p in pids.values()), f"processes left: {pids}")
    check(host_snapshot() == before, "the host's links, routes or ruleset changed")
    check(lab.down().returncode == 0, "a second down failed")


def case_press_without_dashctl(repo):
    with Lab(repo) as lab:
        p = lab.press("btn1")[0]
        steps = p["steps"]
        names = [s["step"] for s in steps]
        check(names == ["link_up", "dhcp", "arp", "dns", "ntp", "dns", "tcp", "tcp", "tcp", "link_down"],
              f"steps: {names}")
        # Without dashctl nobody answers NTP; the request still costs the button no more than its timeout.
        check(steps[4]["answered"] is False and p["ntp"]["answered"] is False, f"NTP: {steps[4]}")
        check(p["awake_ms"] == steps[-1]["t_ms"], f"awake: {p}")
        dhcp = steps[1]
        check(dhcp["ok"] and dhcp["ip"].startswith("10.77.0.") and 100 <= int(dhcp["ip"].split(".")[3]) <= 199,
              f"lease: {dhcp}")
        check(steps[5]["name"] == "dash-button-na-aws-opf.amazon.com" and steps[5]["answer"] == ["10.78.0.2"],
              f"DNS answer: {steps[5]}")
        check([s["outcome"] for s in steps if s["step"] == "tcp"] == ["refused"] * 3, f"TCP: {steps}")
        check(p["outcome"] == "refused" and p["sni"] is True, f"outcome: {p}")
        check(all(steps[i]["t_ms"] <= steps[i + 1]["t_ms"] for i in range(len(steps) - 1)), "times go backwards")
        check(lab.env["MAC_BTN1"] in lab.file("dnsmasq.leases"), "no lease line for btn1")
        log = lab.file("dnsmasq.log")
        check(f"query[A] dash-button-na-aws-opf.amazon.com from {dhcp['ip']}" in log, "dnsmasq logged no query")
        check("DHCPACK(br-iot)" in log and "btn1" in log, "dnsmasq logged no DHCP with the hostname")
        check(lab.exec("btn1", "ip", "-4", "addr", "show", "wlan0").stdout.count("inet ") == 0, "address kept")

        two = lab.press("btn2", "--no-sni", "--count", "2", "--gap", "0.2", "--attempts", "1")
        check(len(two) == 2 and all(x["sni"] is False and x["outcome"] == "refused" for x in two), f"{two}")
        check(two[0]["ip"] == two[1]["ip"], "the same button got two addresses")


def case_two_labs(repo):
    with Lab(repo, buttons=1) as a, Lab(repo, buttons=2) as b:
        results = {}
        threads = [threading.Thread(target=lambda l=l: results.__setitem__(l.name, l.press("btn1")[0]))
                   for l in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        check(all(results[l.name]["outcome"] == "refused" for l in (a, b)), f"{results}")
        for lab in (a, b):
            leases = [l for l in lab.file("dnsmasq.leases").splitlines() if l.strip()]
            check(len(leases) == 1 and lab.env["MAC_BTN1"] in leases[0], f"{lab.name} leases: {leases}")
        check(namespaces(a.name) == sorted(f"{a.name}-{n}" for n in ("router", "lan", "btn1")), "lab a's size")
        a.down()
        check(namespaces(a.name) == [], "lab a left namespaces")
        check(len(namespaces(b.name)) == 4, "taking lab a down touched lab b")
        check(b.press("btn2")[0]["outcome"] == "refused", "lab b stopped working after lab a went down")


def child_lab(repo, ending):
    """A child process that makes a lab, prints its name and ends with `ending`: (its result, the name)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import os, signal, sys, time; sys.path.insert(0, {here!r}); from labfixture import Lab\n"
            f"with Lab({repo!r}, buttons=1) as lab:\n"
            f"    print(lab.name, flush=True)\n"
            f"    {ending}\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return p, p.stdout.split()[0] if p.stdout.split() else ""


def case_fixture_cleans_up(repo):
    """A test that fails, or is killed, still leaves no lab behind."""
    for ending in ("raise RuntimeError('test failed')", "os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)"):
        p, name = child_lab(repo, ending)
        check(name.startswith("dt-") and p.returncode != 0, f"child: {p.returncode} {p.stdout} {p.stderr}")
        check(namespaces(name) == [], f"'{ending}' left {namespaces(name)}")
        check(not os.path.exists(os.path.join("/run/dashctl-lab", name)), f"'{ending}' left the state dir")


def case_orphan_swept(repo):
    """A test killed with SIGKILL cannot take its lab down: the next lab made does."""
    p, name = child_lab(repo, "os.kill(os.getpid(), signal.SIGKILL)")
    check(name.startswith("dt-") and p.returncode == -signal.SIGKILL, f"child: {p.returncode} {p.stdout} {p.stderr}")
    check(namespaces(name) != [], f"a SIGKILLed test cannot clean up, yet {name} is gone")
    with Lab(repo, buttons=1) as lab:
        check(namespaces(name) == [], f"the next lab ({lab.name}) left the orphan {namespaces(name)}")
        check(not os.path.exists(os.path.join("/run/dashctl-lab", name)), "the orphan's state dir is still there")
        check(namespaces(lab.name) != [], "the new lab is not up")


def case_ap_again(repo):
    """The access point comes back at once after it went down, even while the kernel still holds
    its old namespace (here an open handle holds it, as the kernel's own deferred cleanup can)."""
    with Lab(repo, buttons=1) as lab:
        lab.script("lab", "ap", "up")
        held = os.open(f"/run/netns/{lab.name}-ap", os.O_RDONLY)
        try:
            lab.script("lab", "ap", "down")
            p = lab.script("lab", "ap", "up", check_rc=False)
            check(p.returncode == 0, f"ap up after ap down exited {p.returncode}: {p.stdout}{p.stderr}")
            lab.script("lab", "ap", "down")
        finally:
            os.close(held)


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
