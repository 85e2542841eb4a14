#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The buttons' history in the lab, dashctl run as an unprivileged user, real mosquitto: presses
counted across a restart and a kill -9, the battery warning once, a new battery, Home
Assistant's sensors, a corrupt state file set aside, a burst of presses written a few times."""
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import NOBODY, Lab, check, daemon_dashctl, ok, run_case  # noqa: E402
from dashtest import write  # noqa: E402
from test_run import Daemon, Subscriber, prepare, wait_button  # noqa: E402


def state_file(lab):
    return os.path.join(lab.state, "run", "state", "buttons.json")


def saved(lab):
    """The state file as the daemon last wrote it ({} before it did)."""
    path = state_file(lab)
    return json.load(open(path))["buttons"] if os.path.exists(path) else {}


def wait_saved(lab, done, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done(saved(lab)):
        time.sleep(0.1)
    return saved(lab)


def history(daemon, name):
    return [b for b in daemon.status()["buttons"] if b["name"] == name][0]["history"]


def case_history_survives(repo):
    """Presses in total, last press and last seen survive a restart and a kill -9; the file is
    private; a corrupt one is set aside and the daemon starts anew."""
    with Lab(repo) as lab:
        d, _ = prepare(lab)
        daemon = Daemon(d)
        lab.press("btn1")
        wait_button(daemon, "btn1", lambda b: b["presses"] == 1)
        # One press after a quiet interval is written at once.
        got = wait_saved(lab, lambda s: s.get("btn1", {}).get("presses") == 1)
        check(got["btn1"]["presses"] == 1, f"state file: {got}")
        st = os.stat(state_file(lab))
        check(st.st_uid == NOBODY and st.st_mode & 0o777 == 0o600, f"state file {st.st_uid} {st.st_mode:o}")
        h = history(daemon, "btn1")
        check(h["presses"] == 1 and h["last_seen"] and h["last_press"] and h["awake_s"] >= 2, f"{h}")
        check(daemon.stop() == 0, daemon.text())

        daemon = Daemon(d)  # a restart
        h = history(daemon, "btn1")
        check(h["presses"] == 1 and h["last_press"], f"after a restart: {h}")
        check("history: 1 button from" in daemon.text(), daemon.text())
        lab.press("btn1")
        wait_button(daemon, "btn1", lambda b: b["presses"] == 1)  # since this daemon started
        check(history(daemon, "btn1")["presses"] == 2, f"{history(daemon, 'btn1')}")
        wait_saved(lab, lambda s: s.get("btn1", {}).get("presses") == 2)
        daemon.p.send_signal(signal.SIGKILL)  # no chance to write at exit
        daemon.p.wait(timeout=10)

        daemon = Daemon(d)
        h = history(daemon, "btn1")
        check(h["presses"] == 2 and h["last_seen"], f"after a kill -9: {h}")
        # The status table says it too.
        out = ok(d("status", user=NOBODY), "status")
        row = [line for line in out.splitlines() if line.startswith("btn1 ")]
        check(row and " 2 " in row[0] and "~" in row[0], f"status:\n{out}")
        check(daemon.stop() == 0, daemon.text())

        # A file that is no history of ours is set aside, never fatal.
        with open(state_file(lab), "w") as f:
            f.write('{"format":"dashctl-buttons","version":1,"buttons":{"btn1":{"presses":"many"}}}')
        daemon = Daemon(d)
        check("moved aside to" in daemon.text(), daemon.text())
        aside = [n for n in os.listdir(os.path.dirname(state_file(lab))) if n.startswith("buttons.json.bad-")]
        check(len(aside) == 1, f"set aside: {aside}")
        check(history(daemon, "btn1")["presses"] == 0, "a corrupt file was read")
        check(daemon.stop() == 0, daemon.text())


# A button with a small battery, so that a press or two moves the estimate.
SMALL_BATTERY = 'battery_capacity = "1m"\nbattery_warning = 50\n'


def case_battery(repo):
    """The warning is logged and published once when the estimate falls to battery_warning;
    `button battery --replaced --level` starts a new battery; status shows the estimate."""
    with Lab(repo) as lab:
        d, _ = prepare(lab)
        with open(os.path.join(d.dir, "buttons.d", "btn1.toml"), "a") as f:
            f.write(SMALL_BATTERY)
        sub = Subscriber(lab)
        daemon = Daemon(d)
        out = ok(d("button", "battery", "btn1", "--replaced", "--level", "52", user=NOBODY), "battery --replaced")
        check("a new battery at 52%" in out and "~52%" in out, out)
        h = history(daemon, "btn1")
        check(h["battery"]["estimate"] == 52 and h["battery"]["since"] and not h["battery"]["low"], f"{h}")

        lab.press("btn1")  # 2 s and more of a 60 s battery: below 50%
        low = sub.wait("dashctl/btn1/battery_low")
        check(len(low) == 1, f"battery_low: {sub.lines}")
        event = json.loads(low[0])
        check(event["button"] == "btn1" and event["warning"] == 50 and event["battery"] <= 50, f"{event}")
        check(daemon.text().count("btn1: battery low") == 1, daemon.text())
        h = history(daemon, "btn1")
        check(h["battery"]["low"] and h["battery"]["estimate"] <= 50, f"{h}")
        deadline = time.monotonic() + 20  # the state after the press, at the next write
        while time.monotonic() < deadline and not any(json.loads(m)["battery_low"] for m in sub.on("dashctl/btn1/state")):
            time.sleep(0.1)
        check(any(json.loads(m)["battery_low"] for m in sub.on("dashctl/btn1/state")), f"state: {sub.lines}")
        out = ok(d("status", user=NOBODY), "status")
        check("low" in [line for line in out.splitlines() if line.startswith("btn1 ")][0], out)

        time.sleep(11)  # the press's window (10 s) ends: the next wake-up is a press of its own
        lab.press("btn1")
        wait_button(daemon, "btn1", lambda b: b["presses"] == 2)
        time.sleep(1.0)
        check(len(sub.on("dashctl/btn1/battery_low")) == 1, f"warned twice: {sub.lines}")
        check(daemon.text().count("btn1: battery low") == 1, daemon.text())

        out = ok(d("button", "battery", "btn1", "--replaced", user=NOBODY), "battery --replaced")
        check("~100%" in out, out)
        h = history(daemon, "btn1")
        check(h["battery"]["estimate"] == 100 and not h["battery"]["low"] and h["presses"] == 2, f"{h}")
        j = json.loads(ok(d("--json", "button", "battery", "btn1", user=NOBODY), "battery --json"))
        check(j["estimate"] == 100 and j["capacity_s"] == 60 and j["warning"] == 50, f"{j}")
        show = ok(d("button", "show", "btn1", user=NOBODY), "show")
        check("presses: 2 in total" in show and "battery: ~100%" in show, show)

        # Bad input: a level out of range, --level alone, an unknown button; no daemon.
        p = d("button", "battery", "btn1", "--replaced", "--level", "0", user=NOBODY)
        check(p.returncode == 64, f"--level 0: {p.returncode} {p.stderr}")
        p = d("button", "battery", "btn1", "--level", "50", user=NOBODY)
        check(p.returncode == 64 and "--replaced" in p.stderr, f"--level alone: {p.returncode} {p.stderr}")
        p = d("button", "battery", "btn9", "--replaced", user=NOBODY)
        check(p.returncode == 65 and "no button 'btn9'" in p.stderr, f"unknown: {p.returncode} {p.stderr}")
        check(daemon.stop() == 0, daemon.text())
        p = d("button", "battery", "btn1", "--replaced", user=NOBODY)
        check(p.returncode == 69 and "not running" in p.stderr, f"no daemon: {p.returncode} {p.stderr}")
        show = ok(d("button", "show", "btn1", user=NOBODY), "show without a daemon")
        check("history: unknown: the daemon is not running" in show, show)
        sub.close()


# What Home Assistant's MQTT sensor takes (its documentation's options and their types), and
# the values it accepts for the enumerated ones.
SENSOR_KEYS = {"name": str, "unique_id": str, "state_topic": str, "value_template": str, "device_class": str,
               "unit_of_measurement": str, "state_class": str, "entity_category": str, "icon": str, "device": dict,
               "availability_topic": str}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
ENTITY_CATEGORIES = {"config", "diagnostic"}


def case_homeassistant_sensors(repo):
    """Discovery of each button's four sensors, well formed, retained, under its trigger's device;
    the retained state they read, after a press; all of it removed with the button."""
    with Lab(repo) as lab:
        d, _ = prepare(lab, buttons=("btn1", "btn2"))
        daemon = Daemon(d)
        lab.press("btn1")
        wait_button(daemon, "btn1", lambda b: b["presses"] == 1)
        wait_saved(lab, lambda s: s.get("btn1", {}).get("presses") == 1)
        # A subscriber that comes afterwards gets what is retained: discovery and state.
        sub = Subscriber(lab)
        for b in ("btn1", "btn2"):
            trigger = sub.wait(f"homeassistant/device_automation/dashctl_{b}/button_short_press/config")
            check(len(trigger) == 1, f"{b}'s trigger: {sub.lines}")
            device = json.loads(trigger[0])["device"]
            for key, device_class in (("battery", "battery"), ("presses", None), ("last_press", "timestamp"),
                                      ("last_seen", "timestamp")):
                got = sub.wait(f"homeassistant/sensor/dashctl_{b}/{key}/config")
                check(len(got) == 1, f"{b} {key}: {sub.lines}")
                c = json.loads(got[0])
                for k, v in c.items():
                    check(k in SENSOR_KEYS and isinstance(v, SENSOR_KEYS[k]), f"{b} {key}: {k}={v!r}")
                check(c["state_topic"] == f"dashctl/{b}/state" and c["unique_id"] == f"dashctl_{b}_{key}", f"{c}")
                check(c["device"] == device, f"{b} {key}: another device than the trigger's: {c['device']}")
                check(c.get("device_class") == device_class, f"{b} {key}: {c}")
                check(c.get("state_class", "measurement") in STATE_CLASSES, f"{c}")
                check(c.get("entity_category", "diagnostic") in ENTITY_CATEGORIES, f"{c}")
                check(f"value_json.{key}" in c["value_template"], f"{c}")
                if key == "battery":
                    check(c["unit_of_measurement"] == "%" and c["state_class"] == "measurement", f"{c}")
                if key == "presses":
                    check(c["state_class"] == "total_increasing", f"{c}")
            state = sub.wait(f"dashctl/{b}/state")
            check(len(state) == 1, f"{b}'s state: {sub.lines}")
            s = json.loads(state[0])
            check(set(s) == {"presses", "last_press", "last_seen", "awake_s", "battery", "battery_low",
                             "battery_since"}, f"{s}")
            check(s["presses"] == (1 if b == "btn1" else 0) and 0 <= s["battery"] <= 100, f"{b}: {s}")
            check((s["last_press"] is None) == (b == "btn2"), f"{b}: {s}")

        # btn2 removed: its trigger, sensors and state are cleared (empty retained payloads).
        sub2 = Subscriber(lab, "dashctl/btn2/state")
        ok(d("button", "remove", "btn2"), "button remove")
        daemon.p.send_signal(signal.SIGHUP)
        cleared = sub.wait("homeassistant/sensor/dashctl_btn2/battery/config", 2)
        check(cleared[-1:] == [""], f"btn2's battery sensor not removed: {sub.lines}\n{daemon.text()}")
        check(sub2.wait("dashctl/btn2/state", 2)[-1:] == [""], f"btn2's state not removed: {sub2.lines}")
        check(daemon.stop() == 0, daemon.text())
        check("btn2" not in saved(lab), f"btn2's history outlived it: {saved(lab)}")
        sub.close()
        sub2.close()


def case_renamed_keeps_history(repo):
    """`dashctl button rename` keeps the button's presses and battery (same MAC)."""
    with Lab(repo) as lab:
        d, _ = prepare(lab)
        daemon = Daemon(d)
        lab.press("btn1")
        wait_button(daemon, "btn1", lambda b: b["presses"] == 1)
        ok(d("button", "rename", "btn1", "front-door"), "rename")
        daemon.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "history: btn1 is now front-door" not in daemon.text():
            time.sleep(0.1)
        h = history(daemon, "front-door")
        check(h["presses"] == 1 and h["last_press"], f"{h}\n{daemon.text()}")
        got = wait_saved(lab, lambda s: "front-door" in s and "btn1" not in s)
        check(got.get("front-door", {}).get("presses") == 1, f"{got}")
        check(daemon.stop() == 0, daemon.text())


BUTTONS = 100
ROUNDS = 10


def case_burst_writes(repo):
    """1,000 presses in a burst (100 buttons, 10 each, as dnsmasq's events) are all counted,
    and the state file is written a bounded number of times: at once, then at most once per 5 s,
    and once at exit."""
    with Lab(repo) as lab:
        d, run_dir = daemon_dashctl(lab)
        buttons_dir = os.path.join(d.dir, "buttons.d")
        os.makedirs(buttons_dir, exist_ok=True)
        macs = [f"02:00:00:00:{i // 256:02x}:{i % 256:02x}" for i in range(BUTTONS)]
        for i, mac in enumerate(macs):
            write(os.path.join(buttons_dir, f"b{i}.toml"), f'mac = "{mac}"\nwindow = "100ms"\n')
        daemon = Daemon(d)
        sock = os.path.join(run_dir, "events.sock")
        # The datagrams dnsmasq's script sends (dhcp-event's own path is test_run's dhcp_source),
        # from here: 100 buttons a round. Between rounds, the daemon has taken the round and each
        # button's 100 ms window has passed, so that every event is a press.
        out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        started = time.monotonic()
        for r in range(ROUNDS):
            for i, mac in enumerate(macs):
                out.sendto(json.dumps({"v": 1, "action": "old", "mac": mac, "ip": f"10.77.0.{10 + i}", "host": f"b{i}",
                                       "interface": "br-iot"}, separators=(",", ":")).encode(), sock)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and daemon.status()["counters"]["dhcp_events"] < BUTTONS * (r + 1):
                time.sleep(0.05)
            time.sleep(0.15)
        took = time.monotonic() - started
        out.close()
        status = daemon.status()
        check(status["counters"]["presses"] == BUTTONS * ROUNDS, f"presses: {status['counters']}")
        total = sum(b["history"]["presses"] for b in status["buttons"])
        check(total == BUTTONS * ROUNDS, f"history: {total}")
        writes = status["history"]["writes"]
        check(daemon.stop() == 0, daemon.text())
        # At once, then once per 5 s while the burst lasted (and the wait after it), at most.
        bound = 2 + int((time.monotonic() - started) / 5)
        check(1 <= writes <= bound, f"{writes} writes for {BUTTONS * ROUNDS} presses in {took:.1f} s (bound {bound})")
        got = saved(lab)
        check(sum(b["presses"] for b in got.values()) == BUTTONS * ROUNDS, "the last write at exit is missing")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
