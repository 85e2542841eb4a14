#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dashctl learn in the lab: a simulated button pressed while learn watches is saved with a
static lease that it gets on its next press; learn's NFLOG table never outlives it."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import NOBODY, Dashctl, Lab, check, daemon_dashctl, ok, run_case  # noqa: E402

LEARN_TABLE = "dashctl-learn"


def has_table(lab, name):
    return lab.exec("router", "nft", "list", "table", "inet", name).returncode == 0


def start_learn(d, *args):
    """learn in the background in the router namespace (ip netns exec execs it: same pid)."""
    p = subprocess.Popen(["ip", "netns", "exec", f"{d.lab.name}-router", d.binary, "-c", d.config, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not has_table(d.lab, LEARN_TABLE):
        if p.poll() is not None:
            check(False, f"learn exited {p.returncode}: {p.communicate()}")
        time.sleep(0.05)
    check(has_table(d.lab, LEARN_TABLE), "learn did not install its table")
    return p


def finish(p, seconds=60):
    out, err = p.communicate(timeout=seconds)
    return p.returncode, out, err


def case_learn_press(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab, extra='[mqtt]\nurl = "mqtt://10.77.0.1:1883"\n')
        ok(d("setup"), "setup")
        mac = lab.env["MAC_BTN1"].lower()
        dnsmasq_pid = lab.file("dnsmasq.pid").strip()
        p = start_learn(d, "--json", "learn", "--timeout", "60s", "--mqtt", "home/{button}=PRESSED")
        first = lab.press("btn1")[0]
        check(first["ip"] != "10.77.0.200", f"before learning the button has a dynamic address: {first}")
        rc, out, err = finish(p)
        check(rc == 0, f"learn exited {rc}:\n{out}{err}")
        j = json.loads(out)
        check(j["name"] == "button-1" and j["mac"] == mac and j["ip"] == "10.77.0.200", f"learned: {j}")
        check(j["asked"].endswith("amazon.com") or "DHCP" not in j["asked"], f"asked: {j}")
        check(j["lease_in_force"] is True, f"learn should have applied the lease: {j}")
        check(not has_table(lab, LEARN_TABLE), "learn's table outlived it")

        text = open(os.path.join(d.dir, "buttons.d", "button-1.toml")).read()
        check(f'mac = "{mac}"' in text and 'ip = "10.77.0.200"' in text and "home/{button}" in text, text)
        hosts = lab.file("dashctl/dhcp-hosts")
        check(f"{mac},10.77.0.200,button-1" in hosts, f"dhcp-hosts:\n{hosts}")
        check("button-1" in ok(d("button", "list"), "button list"), "button list")

        second = lab.press("btn1")[0]
        check(second["ip"] == "10.77.0.200", f"the next press should get the static lease: {second}")
        # A reload (SIGHUP), not a restart: dnsmasq keeps its pid.
        check(lab.file("dnsmasq.pid").strip() == dnsmasq_pid, "learn should reload dnsmasq, not restart it")

        # The same button again: reported, not learned twice; learn goes on to its timeout.
        p = start_learn(d, "learn", "--timeout", "8s")
        lab.press("btn1")
        rc, out, err = finish(p)
        check(rc == 75, f"learn of a known button exited {rc}:\n{out}{err}")
        check("already button 'button-1'" in out and "only known buttons: button-1" in err, f"{out}{err}")
        check(not os.path.exists(os.path.join(d.dir, "buttons.d", "button-2.toml")), "learned twice")
        check(not has_table(lab, LEARN_TABLE), "learn's table outlived it")


def case_learn_name_and_text(repo):
    """--name, and the one line a script reads when stdout is no TTY."""
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        p = start_learn(d, "learn", "--name", "hall", "--timeout", "60s")
        lab.press("btn2")
        rc, out, err = finish(p)
        check(rc == 0, f"learn exited {rc}:\n{out}{err}")
        lines = [l for l in out.splitlines() if l.startswith("learned ")]
        check(len(lines) == 1 and f"learned hall: {lab.env['MAC_BTN2'].lower()}" in lines[0]
              and "10.77.0.200" in lines[0], out)
        check(lab.press("btn2")[0]["ip"] == "10.77.0.200", "static lease")


def case_learn_timeout(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        # Flags the config cannot take are refused before anyone presses anything.
        for flags, says in ((["--mqtt", "home/x=ON"], "no [mqtt] section"), (["--exec", "relative/path"], "exec"),
                            (["--name", "Bad Name"], "not a valid button name")):
            p = d("learn", "--timeout", "60s", *flags)
            check(p.returncode in (64, 65) and p.stderr.startswith("dashctl: learn: ") and says in p.stderr,
                  f"learn {flags} -> {p.returncode}:\n{p.stderr}")
        check(not has_table(lab, LEARN_TABLE), "no table for refused flags")
        p = d("learn", "--timeout", "2s")
        check(p.returncode == 75, f"learn without a press exited {p.returncode}:\n{p.stdout}{p.stderr}")
        check("no new button seen in 2s" in p.stderr and "setup" in p.stderr, p.stderr)
        check(not has_table(lab, LEARN_TABLE), "learn's table outlived it")
        check(not os.path.exists(os.path.join(d.dir, "buttons.d")) or not os.listdir(os.path.join(d.dir, "buttons.d")),
              "nothing should be saved")


def case_learn_sigterm(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        for sig in (signal.SIGTERM, signal.SIGINT):
            p = start_learn(d, "learn", "--timeout", "60s")
            p.send_signal(sig)
            rc, out, err = finish(p, 15)
            check(rc == -sig, f"learn should die by signal {sig}: {rc}\n{out}{err}")
            check(not has_table(lab, LEARN_TABLE), f"learn's table outlived {signal.Signals(sig).name}")


def case_learn_stale_table(repo):
    """A learn killed with SIGKILL leaves its table; the next learn, or setup, removes it."""
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        p = start_learn(d, "learn", "--timeout", "60s")
        p.kill()
        p.wait(timeout=10)
        check(has_table(lab, LEARN_TABLE), "SIGKILL cannot clean up: the table should still be there")
        out = ok(d("setup"), "setup after a killed learn")
        check("left by an interrupted" in out, out)
        check(not has_table(lab, LEARN_TABLE), "setup should remove the stale table")

        p = start_learn(d, "learn", "--timeout", "60s")
        p.kill()
        p.wait(timeout=10)
        p = d("learn", "--timeout", "1s")
        check(p.returncode == 75 and "left by an interrupted" in p.stderr, f"{p.returncode}\n{p.stdout}{p.stderr}")
        check(not has_table(lab, LEARN_TABLE), "the next learn should remove the stale table")

        # A learn that runs is not disturbed by setup, and a second learn is refused.
        p = start_learn(d, "learn", "--timeout", "60s")
        ok(d("setup"), "setup during learn")
        check(has_table(lab, LEARN_TABLE), "setup removed a running learn's table")
        second = d("learn", "--timeout", "2s")
        check(second.returncode == 75 and "another 'dashctl learn' is running" in second.stderr,
              f"{second.returncode}\n{second.stderr}")
        p.send_signal(signal.SIGTERM)
        finish(p, 15)
        check(not has_table(lab, LEARN_TABLE), "table left")


def case_learn_unprivileged(repo):
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        p = d("learn", "--timeout", "2s", user=NOBODY)
        check(p.returncode == 77 and "needs root" in p.stderr and "sudo dashctl learn" in p.stderr,
              f"{p.returncode}\n{p.stdout}{p.stderr}")
        check(not has_table(lab, LEARN_TABLE), "no table without privilege")


def case_learn_any(repo):
    """--any learns a device that only does DHCP (no intercepted name)."""
    with Lab(repo) as lab:
        d = Dashctl(lab)
        ok(d("setup"), "setup")
        p = start_learn(d, "--json", "learn", "--any", "--timeout", "60s")
        lab.wake("btn3")  # DHCP only: no DNS at all
        rc, out, err = finish(p)
        check(rc == 0, f"learn --any exited {rc}:\n{out}{err}")
        j = json.loads(out)
        check(j["mac"] == lab.env["MAC_BTN3"].lower() and j["asked"] == "a DHCP request", f"{j}")


def case_button_changes(repo):
    """button add, rename and remove as root after setup: each brings dhcp-hosts in step at once
    (a reload of dnsmasq, not a restart) and has a running daemon reload its config."""
    with Lab(repo) as lab:
        d, run_dir = daemon_dashctl(lab)
        ok(d("setup"), "setup")
        hosts = os.path.join(lab.state, "dashctl", "dhcp-hosts")
        mac = lab.env["MAC_BTN1"].lower()
        dnsmasq_pid = lab.file("dnsmasq.pid").strip()
        log_path = os.path.join(lab.state, "run.log")
        with open(log_path, "a+") as log:
            daemon = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-router", "setpriv", f"--reuid={NOBODY}",
                                       f"--regid={NOBODY}", "--clear-groups", d.binary, "-c", d.config, "run"],
                                      stdout=log, stderr=log)
        try:
            def daemon_log():
                return open(log_path).read()

            def wait_log(text, seconds=10):
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline and text not in daemon_log():
                    check(daemon.poll() is None, f"dashctl run exited {daemon.returncode}:\n{daemon_log()}")
                    time.sleep(0.05)
                check(text in daemon_log(), f"the daemon's log has no {text!r}:\n{daemon_log()}")

            wait_log("listening on")
            out = ok(d("button", "add", "btn1", "--mac", mac, "--ip", "10.77.0.201"), "button add")
            check("setup applied again" in out and "the running daemon reloaded its config" in out, out)
            check(f"{mac},10.77.0.201,btn1\n" in open(hosts).read(), f"dhcp-hosts:\n{open(hosts).read()}")
            wait_log("reload: 1 button")
            check(lab.press("btn1", "--attempts", "1")[0]["ip"] == "10.77.0.201", "the lease is not in force")
            check(lab.file("dnsmasq.pid").strip() == dnsmasq_pid, "button add should reload dnsmasq, not restart it")

            out = ok(d("button", "rename", "btn1", "hall"), "button rename")
            check("setup applied again" in out, out)
            text = open(hosts).read()
            check(f"{mac},10.77.0.201,hall\n" in text and "btn1" not in text, f"dhcp-hosts after rename:\n{text}")

            out = ok(d("button", "remove", "hall"), "button remove")
            check("setup applied again" in out and "the running daemon reloaded its config" in out, out)
            text = open(hosts).read()
            check(mac not in text and "10.77.0.201" not in text, f"dhcp-hosts after remove:\n{text}")
            wait_log("reload: 0 buttons")
            check(daemon.poll() is None, f"the daemon died:\n{daemon_log()}")
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=15)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
