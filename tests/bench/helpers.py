#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers scripts/bench runs inside the lab's namespaces (Python standard library only).

  helpers.py capture --iface br-iot --mac MAC... --out FILE --ready FILE
      the wire clock: an AF_PACKET socket on the bridge with kernel receive timestamps
      (SO_TIMESTAMPNS, CLOCK_REALTIME); writes "arp|syn MAC NANOSECONDS" for every ARP request
      and every TCP SYN to port 443 that one of the MACs sends, and "dhcp MAC NANOSECONDS" for
      every DHCP DISCOVER ("dhcp-request MAC NANOSECONDS" for every DHCP REQUEST) it sends
      (a BOOTREQUEST to UDP port 67 with that message type, option 53), until SIGTERM
  helpers.py press --iface wlan0 --mac MAC --ip IP --router IP --count N --gap MIN MAX
                   --start EPOCH [--period P] --out FILE
      a fast, faithful press generator for one button: each press is an ARP request for the
      router (the first packet a waking button sends that reveals it to a sniffer) followed at
      once by a TCP connection to port 443 of the router, closed as soon as it is made (what
      the nftables redirect brings to the listener); the next press only after MIN..MAX seconds
      (longer than the button's window, so every press is a new press); with --period P, press
      k at exactly START + k*P instead, so that buttons given the same START press together
  helpers.py mqttsub --broker IP --topic FILTER --out FILE --ready FILE
      a minimal MQTT 3.1.1 subscriber (QoS 0): writes "NANOSECONDS TOPIC" (CLOCK_REALTIME when
      the message has been read) for every message, until SIGTERM
  helpers.py blast --dst IP --port N --count N --max-seconds S --out FILE
      unrelated traffic: N UDP datagrams as fast as one socket sends them
  helpers.py timeit --runs N --out FILE -- CMD...
      runs /usr/bin/time -v CMD N times; per run the wall time (monotonic clock around the
      process, /usr/bin/time's own fork and exec included), its exit status, and time's maximum
      RSS and CPU seconds
"""
import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def capture(a):
    macs = {mac_bytes(m): m.lower() for m in a.mac}
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((a.iface, 0))
    out = open(a.out, "w", buffering=1 << 16)

    def stop(*_):
        out.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    open(a.ready, "w").close()
    while True:
        data, anc, _flags, addr = s.recvmsg(2048, socket.CMSG_SPACE(16))  # DHCP's options are past 282
        if addr[2] == PACKET_OUTGOING or len(data) < 34:
            continue
        mac = macs.get(data[6:12])
        if mac is None:
            continue
        ts = None
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", value[:16])
                ts = sec * 1_000_000_000 + nsec
        if ts is None:
            ts = time.time_ns()
        ethertype = struct.unpack("!H", data[12:14])[0]
        if ethertype == 0x0806 and struct.unpack("!H", data[20:22])[0] == 1:
            out.write(f"arp {mac} {ts}\n")
        elif ethertype == 0x0800 and data[23] == 6:
            ihl = (data[14] & 0x0F) * 4
            tcp = 14 + ihl
            if len(data) >= tcp + 14:
                dport = struct.unpack("!H", data[tcp + 2:tcp + 4])[0]
                flags = data[tcp + 13]
                # With br_netfilter the bridge's packet tap sees the SYN after the redirect
                # (port 1443); without it, before (port 443). Either is the button's SYN.
                if dport in (443, 1443) and flags & 0x02 and not flags & 0x10:
                    out.write(f"syn {mac} {ts}\n")
        elif ethertype == 0x0800 and data[23] == 17:
            kind = dhcp_kind(data)
            if kind:
                out.write(f"{kind} {mac} {ts}\n")


def dhcp_kind(frame):
    """"dhcp" for a DHCP DISCOVER in this Ethernet frame, "dhcp-request" for a REQUEST, else None."""
    udp = 14 + (frame[14] & 0x0F) * 4
    bootp = udp + 8
    if len(frame) < bootp + 240 or struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 67 or frame[bootp] != 1:
        return None
    if frame[bootp + 236:bootp + 240] != b"\x63\x82\x53\x63":  # the magic cookie
        return None
    i = bootp + 240
    while i + 1 < len(frame) and frame[i] != 255:
        if frame[i] == 0:  # pad
            i += 1
            continue
        code, n = frame[i], frame[i + 1]
        if code == 53 and n >= 1 and i + 2 < len(frame):
            return {1: "dhcp", 3: "dhcp-request"}.get(frame[i + 2])
        i += 2 + n
    return None


def press(a):
    mac = mac_bytes(a.mac)
    arp = (b"\xff" * 6 + mac + struct.pack("!H", 0x0806) +
           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(a.ip) +
           b"\0" * 6 + socket.inet_aton(a.router))
    arp += b"\0" * (60 - len(arp))
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((a.iface, 0))
    rnd = random.Random(a.mac)
    delay = a.start + (0 if a.period else rnd.uniform(0, a.gap[1])) - time.time()
    if delay > 0:
        time.sleep(delay)
    presses = []
    deadline = time.monotonic() + a.max_seconds
    for k in range(a.count):
        if time.monotonic() > deadline:
            break
        if a.period and k:
            time.sleep(max(0.0, a.start + k * a.period - time.time()))
        t = time.time_ns()
        raw.send(arp)
        c = socket.socket()
        c.settimeout(1.0)
        try:
            c.connect((a.router, 443))
            outcome = "connected"
        except ConnectionRefusedError:
            outcome = "refused"
        except OSError as e:
            outcome = f"error:{e.errno}"
        finally:
            c.close()
        presses.append({"t": t, "outcome": outcome})
        if not a.period:
            time.sleep(rnd.uniform(*a.gap))
    with open(a.out, "w") as f:
        json.dump(presses, f)


def mqtt_packet(kind, body):
    n, length = len(body), b""
    while True:
        byte, n = n % 128, n // 128
        length += bytes([byte | (0x80 if n else 0)])
        if not n:
            return bytes([kind]) + length + body


def mqttsub(a):
    s = socket.create_connection((a.broker, 1883), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = b"dashctl-bench"
    s.sendall(mqtt_packet(0x10, b"\0\x04MQTT\x04\x02\0\x3c" + struct.pack("!H", len(client)) + client))
    topic = a.topic.encode()
    s.sendall(mqtt_packet(0x82, b"\0\x01" + struct.pack("!H", len(topic)) + topic + b"\0"))
    s.settimeout(None)
    out = open(a.out, "w", buffering=1 << 16)

    def stop(*_):
        out.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    buf = b""
    ready = False
    while True:
        chunk = s.recv(65536)
        t = time.time_ns()
        if not chunk:
            stop()
        buf += chunk
        while len(buf) >= 2:
            mult, length, i = 1, 0, 1
            while i < len(buf) and buf[i] & 0x80:
                length += (buf[i] & 0x7F) * mult
                mult *= 128
                i += 1
            if i >= len(buf):
                break
            length += (buf[i] & 0x7F) * mult
            if len(buf) < i + 1 + length:
                break
            kind, body, buf = buf[0], buf[i + 1:i + 1 + length], buf[i + 1 + length:]
            if kind >> 4 == 9 and not ready:  # SUBACK
                open(a.ready, "w").close()
                ready = True
            elif kind >> 4 == 3:  # PUBLISH
                n = struct.unpack("!H", body[:2])[0]
                out.write(f"{t} {body[2:2 + n].decode(errors='replace')}\n")


def blast(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"x" * 64
    dst = (a.dst, a.port)
    sent = errors = 0
    start = time.monotonic()
    deadline = start + a.max_seconds
    for i in range(a.count):
        if (i & 1023) == 0 and time.monotonic() > deadline:
            break
        try:
            s.sendto(payload, dst)
            sent += 1
        except OSError:
            errors += 1
    with open(a.out, "w") as f:
        json.dump({"sent": sent, "errors": errors, "seconds": time.monotonic() - start}, f)


def spawn_wait(cmd, stderr_path):
    """Runs cmd (no shell) with stdout to /dev/null, stderr to a file; returns the wall time
    from posix_spawn to wait4 in ms, the exit status and wait4's resource usage (what
    /usr/bin/time prints)."""
    fa = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.monotonic_ns()
    return (t1 - t0) / 1e6, os.waitstatus_to_exitcode(status), ru


def timeit(a):
    """Times a.cmd a.runs times: the wall time from spawning it to reaping it (no /usr/bin/time
    in between, whose own fork and exec would be in the figure), and wait4's CPU time. Then,
    with --also-time-v, one more run under /usr/bin/time -v, for the maximum RSS (wait4's, for
    a child of this Python, counts the pages it shares with Python until its exec)."""
    runs = []
    errfile = a.out + ".stderr"
    for _ in range(a.runs):
        wall, code, ru = spawn_wait(a.cmd, errfile)
        with open(errfile, errors="replace") as f:
            err = f.read()[-300:]
        runs.append({"wall_ms": wall, "exit": code, "max_rss_kb": ru.ru_maxrss,
                     "cpu_s": ru.ru_utime + ru.ru_stime, "stderr": err})
    os.unlink(errfile)
    out = {"runs": runs}
    if a.also_time_v:
        tfile = a.out + ".time"
        t0 = time.monotonic_ns()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tfile, *a.cmd], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        t1 = time.monotonic_ns()
        fields = {}
        with open(tfile) as f:
            for line in f:
                k, _, v = line.strip().rpartition(": ")
                fields[k] = v
        os.unlink(tfile)
        out["time_v"] = {"wall_ms": (t1 - t0) / 1e6, "exit": p.returncode,
                         "elapsed": fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", ""),
                         "max_rss_kb": int(fields.get("Maximum resident set size (kbytes)", 0))}
    with open(a.out, "w") as f:
        json.dump(out, f)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    c = sub.add_parser("capture")
    c.add_argument("--iface", required=True)
    c.add_argument("--mac", nargs="+", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--ready", required=True)
    p = sub.add_parser("press")
    p.add_argument("--iface", default="wlan0")
    p.add_argument("--mac", required=True)
    p.add_argument("--ip", required=True)
    p.add_argument("--router", default="10.77.0.1")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--gap", type=float, nargs=2, required=True)
    p.add_argument("--start", type=float, required=True)
    p.add_argument("--period", type=float, default=0.0, help="press k at START + k*PERIOD (buttons pressed together)")
    p.add_argument("--max-seconds", type=float, default=300)
    p.add_argument("--out", required=True)
    m = sub.add_parser("mqttsub")
    m.add_argument("--broker", required=True)
    m.add_argument("--topic", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--ready", required=True)
    b = sub.add_parser("blast")
    b.add_argument("--dst", required=True)
    b.add_argument("--port", type=int, default=9)
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--max-seconds", type=float, default=60)
    b.add_argument("--out", required=True)
    t = sub.add_parser("timeit")
    t.add_argument("--runs", type=int, required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--also-time-v", action="store_true")
    t.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    {"capture": capture, "press": press, "mqttsub": mqttsub, "blast": blast, "timeit": timeit}[a.cmd_name](a)


if __name__ == "__main__":
    main()
