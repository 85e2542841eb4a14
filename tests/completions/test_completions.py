#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The shell completions in completions/, run by the real shells.

Usage: test_completions.py DASHCTL SOURCE_DIR CASE   (one CTest test per CASE; see CMakeLists.txt)

The verbs, sub-verbs and options are read from the real binary's --help, never listed here, so an
option added to dashctl without a completion makes the consistency case fail. A case whose shell is
not installed exits 77 ("skipped: ...").
"""
import concurrent.futures
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from dashtest import MAIN, SKIP, ConfigDir, Failure, Skip, check, clean_env, run_case  # noqa: E402

DASHCTL = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
SOURCE_DIR = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else ""
COMPLETIONS = os.path.join(SOURCE_DIR, "completions")
BASH_FILE = os.path.join(COMPLETIONS, "dashctl.bash")
ZSH_FILE = os.path.join(COMPLETIONS, "_dashctl")
FISH_FILE = os.path.join(COMPLETIONS, "dashctl.fish")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
TIMEOUT = 60  # seconds, for any one shell or dashctl run

BUTTONS = ("hall-light", "kitchen_2")


def interfaces():
    names = sorted(os.listdir("/sys/class/net"))
    check("lo" in names, f"no 'lo' in /sys/class/net: {names}")
    return names


# ---- what --help says ---------------------------------------------------------------------------

OPTION_NAME = re.compile(r"^--?[A-Za-z0-9][-A-Za-z0-9]*$")


def parse_help(text, where):
    """Returns (options, sub-verbs) from one CLI11 --help text."""
    options, subs = [], []
    section = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        if not line.startswith("  ") or section is None:
            continue
        field = line.strip().split()[0] if line.strip() else ""
        if section == "Subcommands":
            check(re.match(r"^[a-z][a-z0-9-]*$", field), f"{where}: odd sub-command line {line!r}")
            subs.append(field)
        elif field.startswith("-"):
            for name in field.split(","):
                check(OPTION_NAME.match(name), f"{where}: odd option {name!r} in {line!r}")
                options.append(name)
    # Not a list of what to expect, only proof that the parsing above saw the text it was written for.
    check("--help" in options, f"{where}: found no --help in its help, so cannot read it:\n{text}")
    return options, subs


def command_tree():
    """{(verb, sub...): (options, sub-verbs)} for dashctl and every verb and sub-verb, from --help."""

    def help_of(path):
        where = " ".join(["dashctl", *path, "--help"])
        p = subprocess.run([DASHCTL, *path, "--help"], capture_output=True, text=True, timeout=TIMEOUT,
                           env=clean_env())
        check(p.returncode == 0, f"{where} -> {p.returncode}: {p.stderr}")
        return parse_help(p.stdout, where)

    tree, level = {}, [()]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        while level:  # one level of sub-commands at a time
            check(len(level[0]) <= 3, f"sub-commands nested too deep: {level}")
            for path, found in zip(level, pool.map(help_of, level)):
                tree[path] = found
            level = [path + (sub,) for path in level for sub in tree[path][1]]
    check(tree[()][1], "dashctl --help lists no sub-commands")
    return tree


# ---- a workspace: a config with two buttons, dashctl on PATH, a HOME of its own ----------------

class Workspace(ConfigDir):
    def __init__(self):
        super().__init__(prefix="dashctl-completions.")
        self.home = os.path.join(self.dir, "home")
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.home)
        os.makedirs(self.bin)
        os.symlink(DASHCTL, os.path.join(self.bin, "dashctl"))
        # Files for --config to complete: the config, another file, a directory.
        self.write("dashctl-other.toml", MAIN)
        self.env = clean_env({
            "HOME": self.home, "PATH": self.bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "XDG_RUNTIME_DIR": self.home, "TERM": "dumb", "LC_ALL": "C.UTF-8",
        })
        for name in BUTTONS:
            p = subprocess.run([DASHCTL, "-c", self.config, "button", "add", name, "--mac",
                                f"ac:63:be:00:00:0{BUTTONS.index(name) + 1}"],
                               capture_output=True, text=True, timeout=TIMEOUT, env=self.env)
            check(p.returncode == 0, f"button add {name} -> {p.returncode}: {p.stderr}")


def need(shell):
    path = shutil.which(shell)
    if path is None:
        raise Skip(f"{shell} is not installed (scripts/bootstrap installs it)")
    return path


# ---- bash ----------------------------------------------------------------------------------------

BASH_HARNESS = r"""
[[ -r $BASH_COMPLETION_SCRIPT ]] && source "$BASH_COMPLETION_SCRIPT"
source "$COMPLETION_FILE" || exit 3
spec=$(complete -p dashctl) || { echo "complete -p dashctl: no completion registered" >&2; exit 3; }
[[ $spec =~ -F\ ([^ ]+) ]] || { echo "not a -F completion: $spec" >&2; exit 3; }
func=${BASH_REMATCH[1]}
# _q LINE CWORD WORD...: completes LINE (cursor at its end) as readline would have split it.
_q() {
    COMP_LINE=$1 COMP_POINT=${#1} COMP_CWORD=$2
    shift 2
    COMP_WORDS=("$@")
    COMPREPLY=()
    local cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    "$func" dashctl "$cur" "$prev"
    echo "<<<reply>>>"
    ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
    echo "<<<end>>>"
}
"""


def bash_words(line):
    """COMP_WORDS and COMP_CWORD as bash splits LINE: at blanks, and '=' and ':' are words of their own."""
    words, cur = [], ""
    for ch in line:
        if ch in " \t":
            if cur:
                words.append(cur)
            cur = ""
        elif ch in "=:":
            if cur and cur[-1] not in "=:":
                words.append(cur)
                cur = ""
            cur += ch
        else:
            if cur and cur[-1] in "=:":
                words.append(cur)
                cur = ""
            cur += ch
    words.append(cur)  # the word being completed, maybe empty
    return words, len(words) - 1


def bash_complete(ws, lines):
    """{line: [COMPREPLY...]} from the bash completion, every line in one bash."""
    need("bash")
    script = [BASH_HARNESS]
    for line in lines:
        words, cword = bash_words(line)
        script.append("_q " + " ".join(shlex.quote(x) for x in [line, str(cword), *words]))
    env = dict(ws.env, COMPLETION_FILE=BASH_FILE, BASH_COMPLETION_SCRIPT=BASH_COMPLETION)
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(script)], capture_output=True,
                       text=True, timeout=TIMEOUT, env=env, cwd=ws.dir)
    check(p.returncode == 0, f"bash -> {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    replies = re.findall(r"<<<reply>>>\n(.*?)<<<end>>>\n", p.stdout, re.S)
    check(len(replies) == len(lines), f"bash answered {len(replies)} of {len(lines)} lines:\n{p.stdout}\n{p.stderr}")
    return {line: r.splitlines() for line, r in zip(lines, replies)}


# ---- fish ----------------------------------------------------------------------------------------

FISH_HARNESS = """
source $COMPLETION_FILE; or exit 3
for line in $argv
    echo '<<<reply>>>'
    complete -C $line
    echo '<<<end>>>'
end
"""


def fish_complete(ws, lines):
    """{line: [candidate...]} from `complete -C LINE` in fish, descriptions dropped."""
    need("fish")
    env = dict(ws.env, COMPLETION_FILE=FISH_FILE)
    p = subprocess.run(["fish", "--no-config", "-c", FISH_HARNESS, *lines], capture_output=True, text=True,
                       timeout=TIMEOUT, env=env, cwd=ws.dir)
    check(p.returncode == 0, f"fish -> {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    check(p.stderr == "", f"fish wrote to stderr:\n{p.stderr}")
    replies = re.findall(r"<<<reply>>>\n(.*?)<<<end>>>\n", p.stdout, re.S)
    check(len(replies) == len(lines), f"fish answered {len(replies)} of {len(lines)} lines:\n{p.stdout}")
    return {line: [c.split("\t")[0] for c in r.splitlines()] for line, r in zip(lines, replies)}


# ---- zsh -----------------------------------------------------------------------------------------
# An interactive zsh on a pseudo-terminal runs its real completion system (compinit, _arguments,
# _describe, _files ...). A wrapper around compadd writes every match zsh would offer for the word
# under the cursor to a file; Tab runs complete-word, and then ^T marks the line as done and clears it.

ZSH_HARNESS = r"""
fpath=("$COMPLETION_DIR" $fpath)
autoload -Uz compinit
compinit -u -D
unsetopt autolist automenu listbeep alwayslastprompt
setopt nobeep
compadd() {
  # Calls that only ask for matches (-O, -A, -D) are compsys at work: pass them through.
  if [[ " ${(j: :)@[1,(i)(-|--)]} " == *\ -[[:alpha:]]#[OAD]\ * ]]; then
    builtin compadd "$@"
    return
  fi
  local -a _harness_hits
  builtin compadd -O _harness_hits "$@"
  (( $#_harness_hits )) && print -rl -- "match:"${^_harness_hits} >> $HARNESS_OUT
  builtin compadd "$@"
}
_harness_done() {
  print -r -- "<<<done>>>" >> $HARNESS_OUT
  BUFFER=
  CURSOR=0
}
zle -N _harness_done
bindkey '^I' complete-word
bindkey '^T' _harness_done
print -r -- "<<<ready>>>" >> $HARNESS_OUT
"""


class Zsh:
    def __init__(self, ws):
        need("zsh")
        self.out = os.path.join(ws.dir, "zsh-matches")
        harness = os.path.join(ws.dir, "harness.zsh")
        with open(harness, "w") as f:
            f.write(ZSH_HARNESS)
        open(self.out, "w").close()
        env = dict(ws.env, COMPLETION_DIR=COMPLETIONS, HARNESS_OUT=self.out, TERM="dumb")
        self.screen = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.chdir(ws.dir)
                os.execvpe("zsh", ["zsh", "-f", "-i"], env)
            finally:
                os._exit(127)
        self.send(f"source {shlex.quote(harness)}\n")
        self.wait_for("<<<ready>>>", 0)

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait_for(self, marker, offset):
        """Reads the terminal (so zsh never blocks on it) until the match file has MARKER after OFFSET."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            with open(self.out) as f:
                f.seek(offset)
                text = f.read()
            if marker in text:
                return text[:text.index(marker)]
            check(time.monotonic() < deadline,
                  f"zsh did not answer within {TIMEOUT}s; its terminal:\n{self.screen.decode(errors='replace')}")
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError as e:
                    raise Failure(f"zsh went away ({e}); its terminal:\n"
                                  f"{self.screen.decode(errors='replace')}") from e
                check(data, f"zsh went away; its terminal:\n{self.screen.decode(errors='replace')}")
                self.screen = (self.screen + data)[-20000:]

    def complete(self, line):
        offset = os.path.getsize(self.out)
        self.send(line + "\t\x14")
        text = self.wait_for("<<<done>>>", offset)
        return [l[len("match:"):] for l in text.splitlines() if l.startswith("match:")]

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def zsh_complete(ws, lines):
    zsh = Zsh(ws)
    try:
        return {line: zsh.complete(line) for line in lines}
    finally:
        zsh.close()


SHELLS = {"bash": (bash_complete, BASH_FILE), "zsh": (zsh_complete, ZSH_FILE), "fish": (fish_complete, FISH_FILE)}


def normalise(candidates):
    """Option candidates as a user reads them: zsh offers '--config=' for an option with a value."""
    return {c.rstrip("=") if c.startswith("-") else c for c in candidates}


def expect_offers(shell, got, line, wanted):
    offered = normalise(got[line])
    missing = [w for w in wanted if w not in offered]
    check(not missing, f"{shell}: completing {line!r} does not offer {missing}; it offers {sorted(offered)}")


def expect_not_offered(shell, got, line, unwanted):
    offered = normalise(got[line])
    extra = [w for w in unwanted if w in offered]
    check(not extra, f"{shell}: completing {line!r} offers {extra}, which do not belong there")


# ---- cases ---------------------------------------------------------------------------------------

def case_consistency(ws):
    """Every verb, sub-verb and option in --help is offered by each shell's completion, where --help
    puts it: a verb's options after the verb, sub-verbs after their verb and after 'help VERB'."""
    tree = command_tree()
    expectations = []  # (line, wanted)
    for path, (options, subs) in sorted(tree.items()):
        prefix = " ".join(["dashctl", *path])
        expectations.append((prefix + " -", options))
        if subs:
            expectations.append((prefix + " ", subs))
            expectations.append((" ".join(["dashctl", "help", *path]) + " ", subs))
    lines = [line for line, _ in expectations]
    problems, checked = [], []
    for shell, (complete, path) in SHELLS.items():
        if shutil.which(shell) is None:
            print(f"note: {shell} is not installed: {os.path.basename(path)} checked as text only")
            text = open(path).read()
            for _, wanted in expectations:
                for w in wanted:
                    if shell == "fish" and w.startswith("-"):
                        pattern = (r"-l\s+" if w.startswith("--") else r"-s\s+") + re.escape(w.lstrip("-"))
                    elif shell == "fish":
                        pattern = r"-a\s+['\"]?" + re.escape(w)
                    else:
                        pattern = re.escape(w)
                    if not re.search(r"(?<![\w-])" + pattern + r"(?![\w-])", text):
                        problems.append(f"{os.path.basename(path)} never mentions {w}")
            continue
        got = complete(ws, lines)
        checked.append(shell)
        for line, wanted in expectations:
            offered = normalise(got[line])
            missing = [w for w in wanted if w not in offered]
            if missing:
                problems.append(f"{os.path.basename(path)} ({shell}): completing {line!r} does not offer "
                                f"{', '.join(missing)}")
    check(not problems, "the completions lack what --help lists:\n  " + "\n  ".join(sorted(set(problems))))
    n = sum(len(w) for _, w in expectations)
    print(f"{len(tree)} commands, {n} verbs, sub-verbs and options, all completed by {', '.join(checked)}")


def shell_case(shell, ws):
    """Verbs, sub-verbs, several verbs' options, button names, interface names, --config files."""
    complete, _ = SHELLS[shell]
    tree = command_tree()
    verbs = tree[()][1]
    cfg = ws.config
    lines = {
        "verbs": "dashctl ",
        "verbs_b": "dashctl b",
        "button": "dashctl button ",
        "button_re": "dashctl button re",
        "help": "dashctl help ",
        "help_button": "dashctl help button ",
        "config": "dashctl config ",
        "root_opts": "dashctl -",
        "root_long": "dashctl --",
        "add_opts": "dashctl button add --",
        "learn_opts": "dashctl learn --",
        "provision_opts": "dashctl provision --",
        "setup_opts": "dashctl setup --",
        "setup_opts_late": "dashctl setup --dry-run --",
        "event_opts": "dashctl dhcp-event --",
        "show": f"dashctl -c {cfg} button show ",
        "show_long": f"dashctl --config {cfg} button show ",
        "remove_k": f"dashctl --config {cfg} button remove k",
        "rename": f"dashctl -c {cfg} button rename ",
        "test": f"dashctl -c {cfg} button test ",
        "iface": "dashctl setup --iot-interface ",
        "iface_l": "dashctl setup --dry-run --iot-interface l",
        "config_file": f"dashctl --config {ws.dir}/dashctl",
        "config_file_c": f"dashctl -c {ws.dir}/dashctl-o",
        "config_file_late": f"dashctl status --config {ws.dir}/dashctl",
    }
    if shell != "zsh":
        # zsh completes the value of --opt=VALUE inside the word; these two lines test the split forms.
        lines["show_eq"] = f"dashctl --config={cfg} button show "
        lines["iface_eq"] = "dashctl setup --iot-interface="
    if shell == "fish":
        lines["iface_eq"] = "dashctl setup --iot-interface=l"
    got = complete(ws, list(lines.values()))
    g = {key: got[line] for key, line in lines.items()}
    by_key = dict(zip(lines.values(), lines.keys()))

    def offers(key, wanted):
        expect_offers(shell, got, lines[key], wanted)

    def only(key, wanted):
        offered = normalise(g[key])
        check(offered == set(wanted), f"{shell}: completing {lines[key]!r} offers {sorted(offered)}, "
                                      f"not exactly {sorted(wanted)}")

    check(len(by_key) == len(lines), "two test lines are the same")
    only("verbs", verbs)
    only("verbs_b", [v for v in verbs if v.startswith("b")])
    only("button", tree[("button",)][1])
    only("button_re", [s for s in tree[("button",)][1] if s.startswith("re")])
    only("help", verbs)
    only("help_button", tree[("button",)][1])
    only("config", tree[("config",)][1])
    offers("root_opts", tree[()][0])
    only("root_long", [o for o in tree[()][0] if o.startswith("--")])
    offers("add_opts", [o for o in tree[("button", "add")][0] if o.startswith("--")])
    offers("learn_opts", [o for o in tree[("learn",)][0] if o.startswith("--")])
    offers("provision_opts", [o for o in tree[("provision",)][0] if o.startswith("--")])
    offers("setup_opts", [o for o in tree[("setup",)][0] if o.startswith("--")])
    offers("setup_opts_late", [o for o in tree[("setup",)][0] if o.startswith("--") and o != "--dry-run"])
    offers("event_opts", [o for o in tree[("dhcp-event",)][0] if o.startswith("--")])
    # A verb's own options stay with it.
    expect_not_offered(shell, got, lines["learn_opts"], ["--dry-run", "--mac", "--iot-interface"])
    expect_not_offered(shell, got, lines["provision_opts"], ["--dry-run", "--mac", "--any", "--passphrase"])
    expect_not_offered(shell, got, lines["add_opts"], ["--dry-run", "--iot-interface", "--any", "--version"])
    expect_not_offered(shell, got, lines["setup_opts"], ["--mac", "--any", "--version"])
    # Button names, from the config given on the line.
    for key in ("show", "show_long", "rename", "test") + (("show_eq",) if "show_eq" in lines else ()):
        only(key, BUTTONS)
    only("remove_k", ["kitchen_2"])
    # Interface names for setup --iot-interface.
    ifaces = interfaces()
    only("iface", ifaces)
    only("iface_l", [i for i in ifaces if i.startswith("l")])
    if shell == "bash":
        only("iface_eq", ifaces)
    elif shell == "fish":
        only("iface_eq", [f"--iot-interface={i}" for i in ifaces if i.startswith("l")])
    # Files for --config.
    for key, name in (("config_file", "dashctl.toml"), ("config_file_c", "dashctl-other.toml"),
                      ("config_file_late", "dashctl.toml")):
        offered = {os.path.basename(c) for c in g[key]}
        check(name in offered, f"{shell}: completing {lines[key]!r} does not offer the file {name}: {g[key]}")
    if shell == "zsh":
        zsh_extra(ws, tree, ifaces)


def zsh_extra(ws, tree, ifaces):
    """zsh: --opt=VALUE completes in the word itself."""
    got = zsh_complete(ws, [f"dashctl --config={ws.config} button show ", "dashctl setup --iot-interface=l",
                            f"dashctl --config={ws.dir}/dashctl."])
    lines = list(got)
    check(set(got[lines[0]]) == set(BUTTONS), f"zsh: completing {lines[0]!r} offers {got[lines[0]]}")
    check(set(got[lines[1]]) == {i for i in ifaces if i.startswith("l")},
          f"zsh: completing {lines[1]!r} offers {got[lines[1]]}")
    check("dashctl.toml" in {os.path.basename(c) for c in got[lines[2]]},
          f"zsh: completing {lines[2]!r} offers {got[lines[2]]}")


def case_bash(ws):
    if not os.path.exists(BASH_COMPLETION):
        print(f"note: {BASH_COMPLETION} is missing; the completion runs without bash-completion's helpers")
    shell_case("bash", ws)
    # setup --reload's values, which bash splits at ':'.
    got = bash_complete(ws, ["dashctl setup --reload ", "dashctl setup --reload pidfile:", "dashctl setup --reload=sys"])
    lines = list(got)
    check("systemctl" in got[lines[0]] and "pidfile:/run/dnsmasq/dnsmasq.pid" in got[lines[0]], f"{got}")
    check(got[lines[1]] == ["/run/dnsmasq/dnsmasq.pid"], f"{got}")
    check(set(got[lines[2]]) == {"systemctl", "systemctl:dnsmasq"}, f"{got}")


def case_zsh(ws):
    shell_case("zsh", ws)


def case_fish(ws):
    shell_case("fish", ws)


def main():
    if len(sys.argv) != 4 or not callable(globals().get("case_" + sys.argv[3])):
        print(__doc__, file=sys.stderr)
        return 64
    case = sys.argv[3]
    if case in SHELLS and shutil.which(case) is None:
        print(f"skipped: {case} is not installed (scripts/bootstrap installs it)")
        return SKIP
    ws = Workspace()
    try:
        return run_case(globals()["case_" + case], ws)
    finally:
        ws.close()


if __name__ == "__main__":
    sys.exit(main())
