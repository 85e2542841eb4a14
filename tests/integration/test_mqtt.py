#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dashctl run's MQTT client in the lab: the broker's host name is looked up off the event loop."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import Lab, check, run_case  # noqa: E402
from test_run import Daemon, Subscriber, prepare, wait_button, wait_lines  # noqa: E402
from dashtest import write  # noqa: E402

BROKER_NAME = "broker.dashctl.test"  # a reserved top-level domain: no real name server knows it

# A name server on 127.0.0.2:53 of the router namespace (the lab's dnsmasq has 127.0.0.1, as it binds lo too)
# that holds every query until the file `release` exists, then answers: BROKER_NAME's A record is
# the lab's broker, its AAAA record none, any other name does not exist. It logs "TYPE NAME" per
# query, as it arrives.
SLOW_DNS = r'''
import os, socket, struct, sys
here, known_name, address = sys.argv[1:4]
log = open(os.path.join(here, "queries.log"), "a", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 53))
s.settimeout(0.05)
print("ready", flush=True)
held = []


def question(query):
    """The name, type and length of a query's question."""
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += 1 + query[i]
    return ".".join(labels).lower(), struct.unpack("!H", query[i + 1:i + 3])[0], i + 5 - 12


def answer(query, peer):
    name, qtype, length = question(query)
    records = b""
    if name == known_name and qtype == 1:  # A: one record; AAAA: none
        records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton(address)
    flags = 0x8180 | (0 if name == known_name else 3)  # a response, recursion; else NXDOMAIN
    header = struct.pack("!HHHHHH", struct.unpack("!H", query[:2])[0], flags, 1, 1 if records else 0, 0, 0)
    s.sendto(header + query[12:12 + length] + records, peer)


while True:
    try:
        query, peer = s.recvfrom(512)
        name, qtype, _ = question(query)
        log.write(f"{ {1: 'A', 28: 'AAAA'}.get(qtype, qtype) } {name}\n")
        held.append((query, peer))
    except socket.timeout:
        pass
    if os.path.exists(os.path.join(here, "release")):
        for query, peer in held:
            answer(query, peer)
        held.clear()
'''


class SlowDns:
    """SLOW_DNS in the router namespace, and what the daemon needs to use it: `env` for
    test_run's Daemon runs it through a wrapper that bind-mounts a resolv.conf naming it over
    /etc/resolv.conf. `ip netns exec` gives each command a mount namespace of its own (a slave
    of the host's), so the mount is the daemon's alone and the host's resolv.conf is untouched."""

    def __init__(self, lab):
        self.dir = os.path.join(lab.state, "slow-dns")
        os.makedirs(self.dir, exist_ok=True)
        script = os.path.join(self.dir, "slow_dns.py")
        write(script, SLOW_DNS)
        # One attempt, and long enough for the test: glibc's resolver would give up after 5 s.
        write(os.path.join(self.dir, "resolv.conf"), "nameserver 127.0.0.2\noptions timeout:30 attempts:1\n")
        self.wrapper = os.path.join(self.dir, "with-resolv-conf")
        write(self.wrapper, '#!/bin/sh\nmount --bind "$DT_RESOLV_CONF" /etc/resolv.conf && exec "$@"\n')
        os.chmod(self.wrapper, 0o755)
        self.p = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-router", "/usr/bin/python3", script, self.dir,
                                   BROKER_NAME, "10.77.0.1"], stdout=subprocess.PIPE, text=True)
        check(self.p.stdout.readline().strip() == "ready", "the slow name server did not start")

    def env(self):
        return (f"DT_RESOLV_CONF={self.dir}/resolv.conf", self.wrapper)

    def queries(self):
        """The A queries for the broker's name so far."""
        path = os.path.join(self.dir, "queries.log")
        lines = open(path).read().splitlines() if os.path.exists(path) else []
        return [line for line in lines if line == f"A {BROKER_NAME}"]

    def wait_queries(self, count, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.queries()) < count:
            time.sleep(0.05)
        return len(self.queries()) >= count

    def release(self):
        write(os.path.join(self.dir, "release"), "")

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=5)


def wait_log(daemon, text, count=1, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and daemon.text().count(text) < count:
        time.sleep(0.05)
    return daemon.text().count(text) >= count


def case_slow_dns(repo):
    """The broker is named (mqtt://broker.dashctl.test) and the name server holds its answer: meanwhile
    a press fires its exec action at once, status answers, and the press message waits in the queue;
    once the name server answers, the daemon connects to the address and the message goes out. Every
    connection attempt looks the name up again: after the broker restarts, the daemon asks once more."""
    with Lab(repo) as lab:
        d, exec_log = prepare(lab)
        text = open(d.config).read()
        check('url = "mqtt://10.77.0.1:1883"' in text, f"prepare's broker URL changed:\n{text}")
        write(d.config, text.replace('url = "mqtt://10.77.0.1:1883"', f'url = "mqtt://{BROKER_NAME}:1883"'))
        sub = Subscriber(lab)
        dns = SlowDns(lab)
        try:
            daemon = Daemon(d, env=dns.env())
            check(dns.wait_queries(1), f"the daemon did not look the broker up:\n{daemon.text()}")

            lab.press("btn1", "--attempts", "1")
            lines = wait_lines(exec_log, 1)
            check(len(lines) == 1 and lines[0].startswith("btn1 "), f"the exec action during the lookup: {lines}")
            b = wait_button(daemon, "btn1", lambda b: b["presses"] == 1)
            check(b["presses"] == 1, f"status during the lookup: {b}")
            mqtt = daemon.status()["mqtt"]
            check(not mqtt["connected"] and mqtt["queued"] >= 1, f"mqtt during the lookup: {mqtt}")
            check(sub.on("home/btn1/toggle") == [], f"published before the broker was found: {sub.lines}")
            check(dns.queries() == [f"A {BROKER_NAME}"], f"queries: {dns.queries()}")

            dns.release()
            check(sub.wait("home/btn1/toggle") == ["TOGGLE"], f"the queued press message: {sub.lines}")
            check(f"mqtt: connected to {BROKER_NAME}:1883 (10.77.0.1)" in daemon.text(), daemon.text())

            lab.script("lab", "broker", "stop")
            check(wait_log(daemon, "mqtt: disconnected"), f"the broker's stop:\n{daemon.text()}")
            lab.script("lab", "broker", "start")
            check(wait_log(daemon, f"mqtt: connected to {BROKER_NAME}", 2), f"no reconnection:\n{daemon.text()}")
            check(len(dns.queries()) >= 2, f"the reconnection did not look the name up again: {dns.queries()}")
            check(daemon.stop() == 0, f"exit code: {daemon.p.returncode}\n{daemon.text()}")
        finally:
            dns.stop()
            sub.close()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
