#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The man pages in man/, as a user meets them and as the code has them.

Usage: test_man.py --dashctl PATH --print-keys PATH --man-dir DIR CASE
(one CTest test per CASE; see tests/man/CMakeLists.txt). Exit 0 pass, 1 fail,
77 skipped (a tool is missing), with "skipped: <why>".
"""
import argparse
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from dashtest import Failure, Skip, check, clean_env, run_case  # noqa: E402

ARGS = None


def pages():
    """{"dashctl-run.8": path, ...}: the pages in man/."""
    out = {}
    for name in sorted(os.listdir(ARGS.man_dir)):
        if re.fullmatch(r"[\w.-]+\.[1-9]", name):
            out[name] = os.path.join(ARGS.man_dir, name)
    check(out, f"no pages in {ARGS.man_dir}")
    return out


def plain(troff):
    """The text of a line of man(7) source: font escapes dropped, special characters
    written as themselves."""
    s = re.sub(r"\\f[BIRP]", "", troff)
    for esc, ch in (("\\(dq", '"'), ("\\(aq", "'"), ("\\(ga", "`"), ("\\-", "-"),
                    ("\\&", ""), ("\\:", ""), ("\\ ", " "), ("\\(bu", "*")):
        s = s.replace(esc, ch)
    m = re.match(r"\.(B|I|BR|RB|BI|IB|IR|RI)\s+(.*)", s)
    if m:  # a font macro: its arguments, quotes removed, alternating fonts joined
        words = re.findall(r'"[^"]*"|\S+', m.group(2))
        words = [w[1:-1] if w.startswith('"') else w for w in words]
        s = (" " if m.group(1) in ("B", "I") else "").join(words)
    return s


def sections(path):
    """{"NAME": [lines], ...} in the page's order."""
    out, current = {}, None
    for line in open(path, encoding="utf-8").read().splitlines():
        if line.startswith(".SH "):
            current = line[4:].strip().strip('"')
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def references(lines):
    """[("dashctl-run", "8"), ...]: the pages that lines name as NAME(SECTION)."""
    text = "\n".join(plain(l) for l in lines)
    found = re.findall(r"([A-Za-z][\w.+-]*) ?\(([1-9])\)", text)
    return [(n, s) for n, s in found if n == n.lower()]  # not a pattern: dashctl-COMMAND(8)


class Tag:
    """A tagged paragraph (.TP, or .TQ for a second tag) of a page."""

    def __init__(self, section, parents, raw):
        self.section = section
        self.parents = parents  # the first words of the tags it is nested in (.RS)
        self.raw = raw
        self.text = plain(raw)
        self.word = self.text.split()[0] if self.text.split() else ""
        # A key's entry: "\fBname\fP (type; default: ...)" or several names before the
        # parenthesis ("\fBusername\fP, \fBpassword\fP (strings; default: none)").
        m = re.fullmatch(r"((?:\\fB[a-z_]+\\fP(?:, )?)+) \((.+)\)", raw)
        self.keys = re.findall(r"\\fB([a-z_]+)\\fP", m.group(1)) if m else []
        self.info = [part.strip() for part in m.group(2).split(";")] if m else []

    def default(self):
        """The stated default, as text; None when the entry states none."""
        for part in self.info:
            if part.startswith("default:"):
                return plain(part[len("default:"):]).strip()
        return None

    def required(self):
        return bool(self.info) and "required" in self.info[0]


def tags(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    out, section, stack = [], None, []  # stack: the word of the last tag at each depth
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".SH "):
            section, stack = line[4:].strip().strip('"'), [None]
        elif section is not None and re.match(r"\.RS\b", line):
            stack.append(None)
        elif section is not None and re.match(r"\.RE\b", line):
            check(len(stack) > 1, f"{path}:{i + 1}: .RE without .RS")
            stack.pop()
        elif section is not None and re.match(r"\.(TP|TQ)\b", line) and i + 1 < len(lines):
            i += 1
            # An indented list under a paragraph rather than under a tag has the parent "?".
            parents = [w or "?" for w in stack[:-1]]
            tag = Tag(section, parents, lines[i])
            out.append(tag)
            stack[-1] = tag.word
        i += 1
    return out


def run(cmd, env=None, timeout=30, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, **kw)
    return p.returncode, p.stdout, p.stderr


def base_env(**extra):
    return clean_env(extra, drop=("MANPATH", "MANPAGER", "PAGER"))


def verbs():
    """The verbs `dashctl --help` lists."""
    rc, out, err = run([ARGS.dashctl, "--help"], env=base_env())
    check(rc == 0, f"dashctl --help -> {rc}: {err}")
    check("Subcommands:" in out, f"no Subcommands: in dashctl --help:\n{out}")
    listed = re.findall(r"^  ([a-z][a-z-]*)\s", out.split("Subcommands:", 1)[1], re.M)
    check("help" in listed and "version" in listed, f"verbs not found in --help: {listed}")
    return listed


# ---- cases ------------------------------------------------------------------------------


def case_lint():
    """mandoc, at its strictest level short of the pedantic "base" checks, says nothing."""
    if not shutil.which("mandoc"):
        raise Skip("mandoc is not installed")
    for name, path in pages().items():
        rc, out, err = run(["mandoc", "-T", "lint", "-W", "style", path])
        check(rc == 0 and not out.strip() and not err.strip(),
              f"mandoc -T lint -W style {name} -> {rc}:\n{out}{err}")
    # Make sure a page with a fault would be seen: the check above must be able to fail.
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.8")
        with open(bad, "w") as f:
            f.write(".TH BAD 8\n.SH NAME\nbad \\- bad\n.SH DESCRIPTION\n.B\n.BR x\n")
        rc, out, err = run(["mandoc", "-T", "lint", "-W", "style", bad])
        check(rc != 0 and (out + err).strip(), "mandoc found nothing wrong in a broken page")


# Pages of other packages that dashctl's pages may name, and the package with each.
EXTERNAL_PAGES = {
    ("dnsmasq", "8"): "dnsmasq-base",
    ("nft", "8"): "nftables",
    ("systemd.service", "5"): "systemd",
    ("systemd.exec", "5"): "systemd",
    ("capabilities", "7"): "manpages",
    ("setpriv", "1"): "util-linux",
    ("mosquitto_sub", "1"): "mosquitto-clients",
    ("nmcli", "1"): "network-manager",
}


def installed(package):
    if not shutil.which("dpkg-query"):
        return False
    rc, out, _ = run(["dpkg-query", "-W", "-f=${Status}", package])
    return rc == 0 and out.endswith(" installed")


def case_pages():
    """A page for every verb, a dashctl(8) that names them all, and references that lead
    somewhere."""
    have = pages()
    listed = verbs()
    top = sections(have["dashctl.8"])
    check("COMMANDS" in top, "dashctl(8) has no COMMANDS section")
    commands = {t.word for t in tags(have["dashctl.8"]) if t.section == "COMMANDS" and not t.parents}
    for verb in listed:
        # help and version are one line each: dashctl(8) documents them and has no page.
        if verb not in ("help", "version"):
            check(f"dashctl-{verb}.8" in have, f"verb {verb} has no page man/dashctl-{verb}.8")
        check(verb in commands, f"dashctl(8) COMMANDS has no entry for {verb}")
    for name in have:
        m = re.fullmatch(r"dashctl-(.+)\.8", name)
        check(not m or m.group(1) in listed, f"man/{name} is the page of no verb in --help")
    see_also_top = set(references(top.get("SEE ALSO", [])))
    for name in have:
        if name != "dashctl.8":
            page, sec = name.rsplit(".", 1)
            check((page, sec) in see_also_top, f"dashctl(8) SEE ALSO does not list {page}({sec})")

    external = set()
    for name, path in have.items():
        page, sec = name.rsplit(".", 1)
        s = sections(path)
        # The first request but comments (the SPDX line): .TH.
        with open(path, encoding="utf-8") as f:
            th = next((l for l in f if not l.startswith('.\\"')), "").split()
        check(len(th) >= 3 and th[1].replace("\\-", "-") == page.upper() and th[2] == sec,
              f"{name}: .TH {th[1:3]} does not name {page.upper()} {sec}")
        names = plain(s["NAME"][0]).split(" - ")[0].split(", ") if s.get("NAME") else []
        check(page in names, f"{name}: NAME does not name {page}")
        check("SEE ALSO" in s, f"{name} has no SEE ALSO")
        see_also = references(s["SEE ALSO"])
        check(see_also, f"{name}: SEE ALSO names no page")
        if name != "dashctl.8":
            check(("dashctl", "8") in see_also, f"{name}: SEE ALSO does not name dashctl(8)")
        # Every reference, in SEE ALSO or in the text, to one of dashctl's pages.
        for ref, ref_sec in set(references(sum(s.values(), []))):
            if ref.startswith("dashctl"):
                check(f"{ref}.{ref_sec}" in have, f"{name} names {ref}({ref_sec}), which is not in man/")
        for ref in see_also:
            if not ref[0].startswith("dashctl"):
                check(ref in EXTERNAL_PAGES,
                      f"{name}: SEE ALSO names {ref[0]}({ref[1]}), not a known page of another "
                      f"package (add it to EXTERNAL_PAGES in {__file__} with its package)")
                external.add(ref)
    # Where the package is installed, its page must be found under that name.
    if shutil.which("man"):
        for ref in sorted(external):
            if installed(EXTERNAL_PAGES[ref]):
                rc, _, err = run(["man", "-w", ref[1], ref[0]], env=base_env())
                check(rc == 0, f"{ref[0]}({ref[1]}) is not found although {EXTERNAL_PAGES[ref]} "
                               f"is installed: {err}")


def known_keys():
    rc, out, err = run([ARGS.print_keys])
    check(rc == 0 and out.strip(), f"print_keys -> {rc}: {err}")
    return out.split()


def parser_defaults():
    rc, out, err = run([ARGS.print_keys, "--defaults"], env=base_env())
    check(rc == 0 and out.strip(), f"print_keys --defaults -> {rc}: {err}")
    return dict(line.split("\t", 1) for line in out.splitlines())


def doc_path(tag):
    """The dotted key path a tag of dashctl.toml(5) documents, or None for a tag of
    another section."""
    m = re.fullmatch(r"\[\[?([a-z_]+)\]\]?", tag.section)
    if m:
        prefix = [m.group(1)]
    elif tag.section == "ACTIONS":  # the elements of a button's on_press
        prefix = ["button", "on_press"]
    else:
        return None
    return ".".join(prefix + tag.parents)


def case_config_keys():
    """Every key the parser takes is in dashctl.toml(5) with its type and default (or
    "required"), every key there is one the parser takes, and the defaults are the
    parser's."""
    page = os.path.join(ARGS.man_dir, "dashctl.toml.5")
    keys = known_keys()
    check(len(keys) > 20 and "network.iot_interface" in keys, f"too few keys from print_keys: {keys}")
    all_tags = tags(page)
    entries, kinds = {}, set()
    for tag in all_tags:
        prefix = doc_path(tag)
        if prefix is None:
            continue
        for key in tag.keys:
            check(f"{prefix}.{key}" not in entries, f"dashctl.toml(5) documents {prefix}.{key} twice")
            entries[f"{prefix}.{key}"] = tag
        if not tag.keys and tag.section == "ACTIONS" and not tag.parents:
            # An action's kind is shown as its syntax, "mqtt = { topic = ... }".
            kinds.add(f"button.on_press.{tag.word}")
    tables = {s for s in sections(page) if re.fullmatch(r"\[\[?[a-z_]+\]\]?", s)}

    for key in keys:
        if "." not in key:
            check(f"[{key}]" in tables or f"[[{key}]]" in tables,
                  f"dashctl.toml(5) has no section [{key}] (or [[{key}]])")
        elif key in kinds:
            continue
        else:
            check(key in entries, f"dashctl.toml(5) does not document {key} "
                                  f"(as a tag '\\fB{key.rsplit('.', 1)[1]}\\fP (type; default: ...)')")
            tag = entries[key]
            check(tag.required() or tag.default() is not None,
                  f"dashctl.toml(5) states no default for {key} (nor that it is required): {tag.raw}")
    for key in sorted(set(entries) | kinds):
        check(key in keys, f"dashctl.toml(5) documents {key}, which the parser does not take")
    for table in tables:
        check(table.strip("[]") in keys, f"dashctl.toml(5) has a section {table} the parser does not take")

    defaults = parser_defaults()
    check(len(defaults) > 10, f"too few defaults from print_keys: {defaults}")
    for key, value in defaults.items():
        check(key in entries, f"print_keys gave a default for {key}, which is not documented")
        stated = entries[key].default()
        check(stated is not None, f"dashctl.toml(5) states no default for {key}; the parser's is {value}")
        if value == '""':
            ok = stated in ('""', "empty")
        else:
            # The value as a whole word: "1" is not found in "1000".
            ok = re.search(r'(?<![\w"/.:-])' + re.escape(value) + r'(?![\w"/.:-])', stated)
        check(ok, f"dashctl.toml(5) says {key} defaults to {stated!r}; the parser's default is {value}")


def run_pty(args, env, timeout=20):
    """Runs dashctl with stdout and stderr on a new terminal; returns (status, output)."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([ARGS.dashctl, *args], stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=slave, env=env)
    finally:
        os.close(slave)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([master], [], [], max(left, 0))
            if not ready:
                p.kill()
                p.wait(timeout=10)
                raise Failure(f"dashctl {' '.join(args)} on a terminal: no end after {timeout}s: {out!r}")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            out += chunk
        rc = p.wait(timeout=10)
    finally:
        os.close(master)
    return rc, out.decode(errors="replace").replace("\r\n", "\n")


FAKE_MAN = """#!/bin/sh
# A man that records how it was called. "man -w PAGE" finds every page when
# $FAKE_MAN_PAGES is set, none otherwise, as man-db answers (16: not found).
echo "$*" >> "$FAKE_MAN_LOG"
if [ "$1" = -w ]; then
  [ -n "$FAKE_MAN_PAGES" ] || { echo "No manual entry for $2" >&2; exit 16; }
  echo "/usr/share/man/man8/$2.8.gz"
  exit 0
fi
echo "FAKE MAN SHOWS $*"
"""


def case_help_opens_man():
    """`dashctl help VERB` runs `man dashctl-VERB` on a terminal when man has the page,
    and prints the text help otherwise."""
    with tempfile.TemporaryDirectory() as tmp:
        bindir, empty = os.path.join(tmp, "bin"), os.path.join(tmp, "empty")
        os.mkdir(bindir)
        os.mkdir(empty)
        with open(os.path.join(bindir, "man"), "w") as f:
            f.write(FAKE_MAN)
        os.chmod(os.path.join(bindir, "man"), 0o755)
        log = os.path.join(tmp, "man.log")

        def calls():
            if not os.path.exists(log):
                return []
            with open(log) as f:
                lines = f.read().splitlines()
            os.remove(log)
            return lines

        system_path = "/usr/local/bin:/usr/bin:/bin"
        with_pages = base_env(PATH=f"{bindir}:{system_path}", FAKE_MAN_LOG=log, FAKE_MAN_PAGES="1")
        for args, page in ((["help", "run"], "dashctl-run"), (["help"], "dashctl"),
                           (["help", "button", "add"], "dashctl-button"),
                           (["--no-color", "help", "dhcp-event"], "dashctl-dhcp-event"),
                           (["help", "config", "check"], "dashctl-config")):
            rc, out = run_pty(args, with_pages)
            ctx = f"dashctl {' '.join(args)} on a terminal -> {rc}:\n{out}"
            check(rc == 0, ctx)
            check(f"FAKE MAN SHOWS {page}\n" in out, f"man {page} did not run: {ctx}")
            check("Usage:" not in out, f"the text help was printed too: {ctx}")
            check(calls() == [f"-w {page}", page], f"man was not asked 'man -w {page}' then 'man {page}': {ctx}")

        # No page installed: the text help, on the terminal.
        no_pages = base_env(PATH=f"{bindir}:{system_path}", FAKE_MAN_LOG=log)
        rc, out = run_pty(["help", "run"], no_pages)
        check(rc == 0 and "Usage: dashctl run" in out and "FAKE MAN SHOWS" not in out,
              f"help run without a page -> {rc}:\n{out}")
        check(calls() == ["-w dashctl-run"], "man was not asked whether dashctl-run is installed")

        # No man at all.
        rc, out = run_pty(["help", "button"], base_env(PATH=empty, FAKE_MAN_LOG=log))
        check(rc == 0 and "Usage: dashctl button" in out, f"help button without man -> {rc}:\n{out}")
        check(calls() == [], "a man outside PATH ran")

        # Not a terminal: scripts get the text, and man is not asked.
        rc, out, err = run([ARGS.dashctl, "help", "run"], env=with_pages)
        check(rc == 0 and "Usage: dashctl run" in out, f"help run into a pipe -> {rc}:\n{out}{err}")
        check(calls() == [], "man ran although stdout is not a terminal")
        rc, out, err = run([ARGS.dashctl, "help"], env=with_pages)
        check(rc == 0 and "Subcommands:" in out and calls() == [], f"help into a pipe -> {rc}:\n{out}{err}")

        # An unknown verb is an error, not a page.
        rc, out = run_pty(["help", "nope"], with_pages)
        check(rc == 64 and "unknown command 'nope'" in out, f"help nope -> {rc}:\n{out}")
        check(calls() == [], "man ran for an unknown verb")


def case_help_real_man():
    """The same with the system's man and these pages: man -w's answer is what dashctl
    expects, so an installed page opens and a missing one gives the text help."""
    if not shutil.which("man"):
        raise Skip("man is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "man", "man8"))
        for name in ("dashctl.8", "dashctl-run.8"):  # not dashctl-learn.8
            shutil.copy(os.path.join(ARGS.man_dir, name), os.path.join(tmp, "man", "man8", name))
        env = base_env(MANPATH=os.path.join(tmp, "man"), MANPAGER="cat", PAGER="cat",
                       MANWIDTH="80", LC_ALL="C.UTF-8")
        rc, out = run_pty(["help", "run"], env)
        text = re.sub(r".\x08", "", re.sub(r"\x1b\[[0-9;]*m", "", out))
        check(rc == 0 and "DASHCTL-RUN(8)" in text and "PRESS SOURCES" in text and "Usage:" not in text,
              f"help run with man and the page -> {rc}:\n{out}")
        rc, out = run_pty(["help"], env)
        text = re.sub(r".\x08", "", re.sub(r"\x1b\[[0-9;]*m", "", out))
        check(rc == 0 and "DASHCTL(8)" in text and "EXIT STATUS" in text,
              f"help with man and the page -> {rc}:\n{out}")
        rc, out = run_pty(["help", "learn"], env)
        check(rc == 0 and "Usage: dashctl learn" in out and "DASHCTL-LEARN(8)" not in out,
              f"help learn, whose page is not installed -> {rc}:\n{out}")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--dashctl", required=True)
    parser.add_argument("--print-keys", required=True)
    parser.add_argument("--man-dir", required=True)
    parser.add_argument("case")
    ARGS = parser.parse_args()
    case = globals().get(f"case_{ARGS.case}")
    if not case:
        print(f"unknown case {ARGS.case}", file=sys.stderr)
        return 2
    return run_case(case)


if __name__ == "__main__":
    sys.exit(main())
