#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The baseline for scripts/bench: what a typical Dash-button tool does, in Python's standard
library. It runs as root, opens an AF_PACKET raw socket on the IoT bridge, reads every frame that
crosses it, parses the Ethernet header, and fires a button's action when one of the buttons' MACs
sends an ARP request or a DHCP request (UDP to port 67), with the usual per-button lock-out (the
button's window) so a press fires once. Like the stdlib tools it imitates, it filters in Python
(no BPF program in the kernel): every frame on the bridge is copied to it.

  baseline.py --iface br-iot --window SECONDS --button NAME=MAC ... --stats FILE -- ACTION ARGV...

The action is started without waiting for it (os.posix_spawn; children reaped by the kernel), with
the button's name and press count appended to ARGV. SIGTERM stops it and writes its counters, as
JSON, to --stats.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--button", action="append", default=[])
    ap.add_argument("--stats", required=True)
    ap.add_argument("--ready")
    ap.add_argument("action", nargs="+")
    a = ap.parse_args()

    buttons = {}
    for spec in a.button:
        name, mac = spec.split("=", 1)
        buttons[bytes.fromhex(mac.replace(":", ""))] = name
    last = {}
    counts = {}
    stats = {"frames": 0, "matched": 0, "fired": 0, "locked_out": 0}

    def stop(*_):
        with open(a.stats, "w") as f:
            json.dump(stats, f)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the actions

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    if a.ready:
        open(a.ready, "w").close()
    while True:
        frame = s.recv(2048)
        stats["frames"] += 1
        if len(frame) < 14:
            continue
        name = buttons.get(frame[6:12])
        if name is None:
            continue
        ethertype = struct.unpack("!H", frame[12:14])[0]
        press = False
        if ethertype == 0x0806 and len(frame) >= 22:  # ARP: a request (op 1)
            press = struct.unpack("!H", frame[20:22])[0] == 1
        elif ethertype == 0x0800 and len(frame) >= 38 and frame[23] == 17:  # IPv4 UDP
            ihl = (frame[14] & 0x0F) * 4
            if len(frame) >= 14 + ihl + 4:
                press = struct.unpack("!H", frame[14 + ihl + 2:14 + ihl + 4])[0] == 67  # to the DHCP server
        if not press:
            continue
        stats["matched"] += 1
        now = time.monotonic()
        if now - last.get(name, -1e9) < a.window:
            stats["locked_out"] += 1
            continue
        last[name] = now
        counts[name] = counts.get(name, 0) + 1
        stats["fired"] += 1
        os.posix_spawn(a.action[0], [*a.action, name, str(counts[name])], os.environ)


if __name__ == "__main__":
    main()
