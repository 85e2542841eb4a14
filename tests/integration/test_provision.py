#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dashctl provision against a simulated setup access point (scripts/setup-ap at 192.168.0.1,
`scripts/lab ap up`), reached from the lab's router: the device info in each format, the
network's bytes as they arrive, the refusals, and a button isolated before it is sent its
network, which then joins the IoT network, fires, and never reaches the stand-in for Amazon."""
import json
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import NOBODY, Lab, check, ok, run_case  # noqa: E402
from dashtest import write  # noqa: E402
from test_run import Daemon, Subscriber, prepare, wait_button  # noqa: E402

# An SSID with every character that an encoding could get wrong, and bytes that are not UTF-8.
ODD_SSID = b"Caf\xc3\xa9 & 50%+1=2 \xff#?"
ODD_PASSPHRASE = b"p&ss w%rd+=x;'\"#?"


def ap_up(lab, *args, mac_of="MAC_BTN1", networks=(b"Home", (b"Neighbours", "WPA2 AES PSK", "-80"))):
    """The button's access point, with `args` for scripts/setup-ap; its MAC is a lab button's."""
    nets = []
    for n in networks:
        ssid, rest = (n, ()) if isinstance(n, bytes) else (n[0], n[1:])
        nets += ["--network", ",".join([ssid.hex(), *rest])]
    lab.script("lab", "ap", "up", "--mac", lab.env[mac_of], *nets, *args)


def ap_down(lab):
    lab.script("lab", "ap", "down")


def ap_log(lab):
    return [json.loads(l) for l in lab.file("ap.log").splitlines() if l.strip()]


def provision(d, *args, user=None, stdin=b"", timeout=60):
    """dashctl provision in the router namespace; args may be bytes (an SSID that is not UTF-8)."""
    cmd = [d.binary, "-c", d.config, "provision", *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    p = subprocess.run(["ip", "netns", "exec", f"{d.lab.name}-router", *cmd], input=stdin, capture_output=True,
                       timeout=timeout)
    p.stdout, p.stderr = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    return p


def passphrase_file(d, secret):
    path = os.path.join(d.dir, "secret")
    with open(path, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(path, 0o600)
    return path


def buttons_d(d):
    path = os.path.join(d.dir, "buttons.d")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def setup_only(lab):
    """setup with no button and no daemon: for the cases that stop before anything is written."""
    d, _ = prepare(lab, buttons=())
    return d


def case_info_formats(repo):
    """--info, as an unprivileged user: the JSON page (with the HTML page's firmware and battery),
    the HTML table alone, and the blank page's hidden inputs."""
    with Lab(repo, buttons=1) as lab:
        d = setup_only(lab)
        ap_up(lab)
        p = provision(d, "--info", user=NOBODY)
        out = ok(p, "provision --info")
        for text in ("serial:   G030QC0400000001", f"mac:      {lab.env['MAC_BTN1']}", "firmware: 30017420_EU",
                     "battery:  87%", "Home", "Neighbours", "WPA2 AES PSK", "-80 dBm"):
            check(text in out, f"'{text}' not in:\n{out}")
        j = json.loads(ok(provision(d, "--info", "--json", user=NOBODY), "provision --info --json"))
        check(j["format"] == "json" and j["serial"] == "G030QC0400000001" and j["mac"] == lab.env["MAC_BTN1"]
              and j["firmware"] == "30017420_EU" and j["battery"] == 87 and j["networks_listed"], f"{j}")
        check([(n["ssid"], n["security"], n["rssi"]) for n in j["networks"]]
              == [("Home", "WPA AES PSK", -55), ("Neighbours", "WPA2 AES PSK", -80)], f"{j['networks']}")
        check(j["networks"][0]["bssid"] == "24:a4:3c:00:00:01", f"{j['networks']}")
        check(j["button"] is None and not j["battery_recorded"], f"{j}")
        # Through the interface on the button's network; through another one it is not reached.
        ok(provision(d, "--info", "--interface", "setup0"), "provision --info --interface setup0")
        p = provision(d, "--info", "--interface", "lan0", "--timeout", "2s")
        check(p.returncode == 69 and "cannot reach the button" in p.stderr, f"--interface lan0: {p.returncode} {p.stderr}")
        # JSON asked first, the HTML page after it for the firmware and battery.
        check([e["json"] for e in ap_log(lab) if e["kind"] == "info"][:2] == [True, False], f"{ap_log(lab)}")

        ap_down(lab)
        ap_up(lab, "--format", "html", "--battery", "13")
        j = json.loads(ok(provision(d, "--info", "--json", user=NOBODY), "provision --info (html)"))
        check(j["format"] == "html-table" and j["mac"] == lab.env["MAC_BTN1"] and j["battery"] == 13
              and not j["networks_listed"] and j["networks"] == [], f"{j}")
        out = ok(provision(d, "--info", user=NOBODY), "provision --info (html)")
        check("networks: not listed" in out, out)

        ap_down(lab)
        ap_up(lab, "--format", "hidden", "--firmware", "40018220_US")
        j = json.loads(ok(provision(d, "--info", "--json", user=NOBODY), "provision --info (hidden)"))
        check(j["format"] == "html-hidden" and j["mac"] == lab.env["MAC_BTN1"] and j["firmware"] == "40018220_US"
              and j["battery"] is None, f"{j}")


def case_ssid_bytes(repo):
    """An SSID and passphrase with spaces, &, %, +, =, # and ? and bytes that are not UTF-8 arrive
    exactly, percent-encoded with a space as %20; the passphrase from a file, from standard input
    with -, and from standard input without a terminal; never from the command line."""
    with Lab(repo, buttons=1) as lab:
        d = setup_only(lab)
        ap_up(lab, networks=(ODD_SSID,))
        secret = passphrase_file(d, ODD_PASSPHRASE)
        ways = [("--passphrase-file", secret), ("--passphrase-file", "-"), ()]
        for way in ways:
            p = provision(d, "--ssid", ODD_SSID, *way, stdin=ODD_PASSPHRASE + b"\n")
            out = ok(p, f"provision {way}")
            check("as a button does when it takes its network" in out and "next: press the button" in out, out)
            nets = [e for e in ap_log(lab) if e["kind"] == "network"]
            check(len(nets) == 1, f"requests: {nets}")  # the log starts again with each `ap up`
            check(bytes.fromhex(nets[-1]["ssid_hex"]) == ODD_SSID, f"SSID: {nets[-1]}")
            check(bytes.fromhex(nets[-1]["pw_hex"]) == ODD_PASSPHRASE, f"passphrase: {nets[-1]}")
            check("+" not in nets[-1]["raw"] and "%20" in nets[-1]["raw"], f"encoding: {nets[-1]['raw']}")
            ap_down(lab)
            ap_up(lab, networks=(ODD_SSID,))
        # The button is in the config once, by its MAC, however often it is provisioned.
        check(buttons_d(d) == ["button-1.toml"], f"buttons: {buttons_d(d)}")
        # The shown SSID: UTF-8 as it is, the other byte escaped.
        check("Caf\u00e9 & 50%+1=2 \\xff#?" in out, out)
        # An open network takes no passphrase, and none is read.
        ap_down(lab)
        ap_up(lab, networks=((b"Cafe", "OPEN"),), *["--after", "answer"])
        out = ok(provision(d, "--ssid", "Cafe", stdin=b""), "provision (open)")
        check("it answered (HTTP 200)" in out, out)
        check(ap_log(lab)[-1]["pw_hex"] == "", f"{ap_log(lab)[-1]}")


def on_terminal(d, args, answer, timeout=60):
    """provision on a new terminal (stdin, stdout and stderr); `answer` is typed after the prompt.
    Returns (exit status, everything the terminal showed)."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen(["ip", "netns", "exec", f"{d.lab.name}-router", d.binary, "-c", d.config, "provision",
                              *args], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    shown, typed, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            shown += chunk
            if not typed and b"(not shown; empty for an open network): " in shown:
                os.write(master, answer + b"\n")
                typed = True
        check(typed, f"no prompt: {shown!r}")
        return p.wait(timeout=10), shown.decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        os.close(master)


def case_passphrase_prompt(repo):
    """On a terminal the passphrase is asked for, and what is typed is not shown, yet arrives."""
    with Lab(repo, buttons=1) as lab:
        d = setup_only(lab)
        ap_up(lab)
        rc, shown = on_terminal(d, ["--ssid", "Home"], b"typed secret 42")
        check(rc == 0, f"provision on a terminal exited {rc}:\n{shown}")
        check("Passphrase for 'Home'" in shown and "typed secret" not in shown, f"the terminal showed:\n{shown}")
        nets = [e for e in ap_log(lab) if e["kind"] == "network"]
        check(len(nets) == 1 and bytes.fromhex(nets[0]["pw_hex"]) == b"typed secret 42", f"{nets}")


def case_refused(repo):
    """What is refused before anything is written or sent: an SSID the button does not list (sent
    with --force), a page without networks, bad SSIDs and passphrases, no root, no config, no
    button, a page in an unknown format, and a button that never answers."""
    with Lab(repo, buttons=1) as lab:
        d = setup_only(lab)
        secret = passphrase_file(d, b"correct horse")
        ap_up(lab)

        def refused(p, code, text, what):
            check(p.returncode == code, f"{what}: exit {p.returncode}, not {code}: {p.stdout}{p.stderr}")
            check(text in p.stderr, f"{what}: '{text}' not in: {p.stderr}")
            check(p.stderr.count("\ndashctl:") == 0, f"{what}: one error: {p.stderr}")
            check(buttons_d(d) == [], f"{what}: a button was written: {buttons_d(d)}")
            check(not [e for e in ap_log(lab) if e["kind"] == "network"], f"{what}: a network was sent")

        p = provision(d, "--ssid", "Elsewhere", "--passphrase-file", secret)
        refused(p, 65, "the button does not see 'Elsewhere'; it sees 'Home', 'Neighbours'", "unlisted SSID")
        check("5 GHz" in p.stderr and "--force" in p.stderr, p.stderr)
        refused(provision(d, "--ssid", "x" * 33, "--passphrase-file", secret), 64, "at most 32", "long SSID")
        refused(provision(d, "--ssid", "Home", "--passphrase-file", passphrase_file(d, b"short")), 65,
                "has 5 characters: a WPA passphrase has 8 to 63", "short passphrase")
        refused(provision(d, "--ssid", "Home", "--passphrase-file", passphrase_file(d, b"x" * 64)), 65,
                "has 64 characters", "long passphrase")
        refused(provision(d, "--ssid", "Home", "--passphrase-file", passphrase_file(d, "caf\u00e9 au lait".encode())),
                65, "not printable ASCII", "a passphrase in UTF-8")
        secret = passphrase_file(d, b"correct horse")
        p = provision(d, "--ssid", "Home", user=NOBODY, stdin=b"correct horse\n")
        refused(p, 77, "making sure the button lands isolated needs root", "not root")
        check("sudo dashctl provision" in p.stderr and "--no-isolation-check" in p.stderr, p.stderr)
        refused(provision(d, "--ssid", "Home", "--passphrase-file", secret, "--name", "Bad Name"), 64,
                "not a valid button name", "bad name")
        os.rename(d.config, d.config + ".away")
        refused(provision(d, "--ssid", "Home", "--passphrase-file", secret), 66, "no config at", "no config")
        os.rename(d.config + ".away", d.config)
        refused(provision(d, "--ssid", "Home", "--info"), 64, "--info only reads", "--info with --ssid")

        ap_down(lab)
        ap_up(lab, networks=())
        refused(provision(d, "--ssid", "Home", "--passphrase-file", secret), 75, "lists no networks in reach",
                "no networks")
        ap_down(lab)
        ap_up(lab, "--format", "html")
        refused(provision(d, "--ssid", "Home", "--passphrase-file", secret), 65,
                "html-table page lists no networks", "networks not listed")
        ap_down(lab)
        ap_up(lab, "--format", "garbage")
        refused(provision(d, "--info"), 76, "in no format dashctl knows", "garbage page")
        ap_down(lab)
        ap_up(lab, "--format", "silent")
        refused(provision(d, "--info", "--timeout", "2s"), 69, "sent no answer in 2s", "silent button")
        ap_down(lab)
        p = provision(d, "--info", "--timeout", "2s")
        refused(p, 69, "cannot reach the button at 192.168.0.1", "no access point")
        check("Amazon ConfigureMe" in p.stderr, p.stderr)

        # --force sends an SSID it did not list; the button is added first all the same.
        ap_up(lab, "--after", "reset")
        p = provision(d, "--ssid", "Elsewhere", "--passphrase-file", secret, "--force")
        out = ok(p, "provision --force")
        check("did not list (--force)" in p.stderr and "reset the connection" in out, f"{out}{p.stderr}")
        check(buttons_d(d) == ["button-1.toml"], f"{buttons_d(d)}")


def case_isolated_first(repo):
    """The whole way: the button is in the config, with its static lease in dnsmasq's file and
    its MAC in the table's rules, before its network is sent (the access point looks when the
    request arrives); the running daemon takes its battery level; then the button, on the IoT
    network with that MAC, gets its lease, fires its action, and never reaches the cloud."""
    with Lab(repo, buttons=1) as lab:
        d, _ = prepare(lab, buttons=())
        sub = Subscriber(lab)
        daemon = Daemon(d)
        st = lab.state
        hook = (f"sh -c 'echo TABLE; ip netns exec {lab.name}-router nft list table inet dashctl; "
                f"echo HOSTS; cat {st}/dashctl/dhcp-hosts; echo BUTTONS; ls {d.dir}/buttons.d'")
        ap_up(lab, "--hook", hook)
        secret = passphrase_file(d, b"correct horse")
        p = provision(d, "--ssid", "Home", "--passphrase-file", secret, "--name", "kitchen",
                      "--mqtt", "home/kitchen/light=TOGGLE", "--json")
        j = json.loads(ok(p, "provision"))
        check(j["isolation"] == "checked" and j["button"]["name"] == "kitchen" and j["button"]["added"]
              and j["delivery"]["answered"] is False and j["battery_recorded"], f"{j}")
        ip = j["button"]["ip"]
        check(ip and ip.startswith("10.77.0.2"), f"static address: {j}")
        mac = lab.env["MAC_BTN1"]
        nets = [e for e in ap_log(lab) if e["kind"] == "network"]
        check(len(nets) == 1, f"{ap_log(lab)}")
        seen = nets[0]["hook"]
        table, rest = seen.split("HOSTS", 1)
        hosts, buttons = rest.split("BUTTONS", 1)
        check(mac in table, f"the table had no rule for {mac} when the network was sent:\n{seen}")
        check(f"{mac},{ip}" in hosts, f"dnsmasq had no static lease for {mac} when the network was sent:\n{seen}")
        check("kitchen.toml" in buttons, f"the button was not in the config when the network was sent:\n{seen}")
        # The daemon took the reported level as a new battery's.
        b = wait_button(daemon, "kitchen", lambda b: b["history"]["battery"]["since"])
        check(b["history"]["battery"]["since"] and 86 <= b["history"]["battery"]["estimate"] <= 87, f"battery: {b}")

        # The button joins the IoT network with the MAC the access point gave.
        lab.script("lab", "ap", "down")
        press = lab.press("btn1")[0]
        check(press["ip"] == ip, f"the button's address is not its static lease {ip}: {press}")
        check(press["outcome"] == "answered", f"dashctl did not answer the button: {press}")
        check(sub.wait("home/kitchen/light") == ["TOGGLE"], f"messages: {sub.lines}")
        check(not lab.file("lan.log").strip(), f"the button reached the cloud's stand-in: {lab.file('lan.log')}")
        # A second provisioning of the same button (its settings wiped again) keeps it.
        ap_up(lab)
        j = json.loads(ok(provision(d, "--ssid", "Home", "--passphrase-file", secret, "--json"), "again"))
        check(j["button"]["name"] == "kitchen" and not j["button"]["added"], f"{j}")
        check(buttons_d(d) == ["kitchen.toml"], f"{buttons_d(d)}")
        check(daemon.stop() == 0, daemon.text())
        sub.close()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    sys.exit(run_case(CASES, sys.argv))
