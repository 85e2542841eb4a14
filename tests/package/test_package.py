#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Installation and the .deb, as a user meets them.

Usage: test_package.py --build-dir DIR --source-dir DIR --version V CASE

  install  `cmake --install` of the build tree into a DESTDIR: every file where it belongs,
           the units configured for the prefix and clean under `systemd-analyze verify`,
           the example config accepted by `dashctl config check`.
  deb      the .deb as scripts/package makes it (dpkg-buildpackage, debian/), in a directory of
           the build tree under test (BUILD/package-deb, so that ccache serves a second run):
           lintian on it (any error or warning fails), its fields, dependencies, maintainer
           scripts and files; then `dpkg -i` on this machine, the binary, `man dashctl` and
           `man dashctl-run`, the completions of bash, zsh and fish in fresh shells, the units
           under `systemd-analyze verify`; then `dpkg -r` (nothing left but what dpkg keeps
           until a purge) and `dpkg --purge` (nothing left at all).

install tests the build tree under test; deb builds the package from the source, as a
distribution would (an optimised build without the tests). Exit 77 is a skip.
"""
import argparse
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from dashtest import SKIP, Failure, Skip, check, require_root, run_case  # noqa: E402


def run(cmd, timeout, env=None, cwd=None, check_rc=True, stdin=subprocess.DEVNULL):
    """Runs a command with a deadline; returns the CompletedProcess (text, both streams)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd,
                           timeout=timeout, stdin=stdin)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"{' '.join(cmd)}: no answer within {timeout} s\n{e.stdout}\n{e.stderr}")
    if check_rc and p.returncode != 0:
        raise Failure(f"{' '.join(cmd)} -> exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def clean_env(home, **extra):
    """The environment of a user's fresh shell: nothing inherited from the test's."""
    env = {"HOME": home, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "TERM": "dumb", "USER": "root", "LOGNAME": "root"}
    env.update(extra)
    return env


def system_unit_dir():
    """Where this release's systemd wants units, relative to the root: lib/systemd/system on
    Debian 12, usr/lib/systemd/system on 13 (systemd.pc says so; CMake and debian/rules ask it)."""
    p = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"], timeout=30, check_rc=False)
    return (p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "/lib/systemd/system").lstrip("/")


# What an install puts where, relative to the root, for the prefix /usr. The .deb compresses
# the man pages and adds the copyright file and the changelog.
def expected_files(source_dir, deb=False):
    man = os.path.join(source_dir, "man")
    units = system_unit_dir()
    files = {"usr/bin/dashctl",
             "usr/libexec/dashctl/dhcp-script",
             "usr/share/bash-completion/completions/dashctl",
             "usr/share/zsh/vendor-completions/_dashctl",
             "usr/share/fish/vendor_completions.d/dashctl.fish",
             f"{units}/dashctl.service",
             f"{units}/dashctl-setup.service",
             "usr/share/doc/dashctl/examples/dashctl.toml",
             "usr/share/doc/dashctl/README.md"}
    if deb:
        # dh_compress compresses the README too (it is over 4 kB).
        files -= {"usr/share/doc/dashctl/README.md"}
        files |= {"usr/share/doc/dashctl/README.md.gz", "usr/share/doc/dashctl/copyright",
                  "usr/share/doc/dashctl/changelog.gz", "usr/share/lintian/overrides/dashctl"}
    gz = ".gz" if deb else ""
    for name in os.listdir(man):
        if name.endswith(".8"):
            files.add(f"usr/share/man/man8/{name}{gz}")
        elif name.endswith(".5"):
            files.add(f"usr/share/man/man5/{name}{gz}")
    check(any(f.endswith("/dashctl.8" + gz) for f in files), f"no dashctl.8 in {man}")
    return files


def files_under(root):
    found = set()
    for d, _, names in os.walk(root):
        for n in names:
            found.add(os.path.relpath(os.path.join(d, n), root))
    return found


def compare_sets(found, expected, what):
    missing, extra = sorted(expected - found), sorted(found - expected)
    check(not missing and not extra, f"{what}: missing {missing}, unexpected {extra}")


def check_units(unit_dir, binary):
    """The two units name `binary` and nothing is left of the templates."""
    for unit, verb in (("dashctl.service", "run"), ("dashctl-setup.service", "setup")):
        with open(os.path.join(unit_dir, unit)) as f:
            text = f.read()
        check(not re.search(r"@[A-Z_]+@", text),
              f"{unit}: an unconfigured @VARIABLE@ is left:\n{text}")
        check(re.search(rf"(?m)^ExecStart={re.escape(binary)} {verb}$", text),
              f"{unit}: no ExecStart={binary} {verb}:\n{text}")
    with open(os.path.join(unit_dir, "dashctl.service")) as f:
        daemon = f.read()
    for line in ("Type=notify", "DynamicUser=yes", "RuntimeDirectory=dashctl", "CapabilityBoundingSet=",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "SystemCallFilter=@system-service", "Restart=on-failure",
                 "StateDirectory=dashctl-daemon", "StateDirectoryMode=0700", "SystemCallFilter=adjtimex clock_adjtime"):
        check(re.search(rf"(?m)^{re.escape(line)}$", daemon), f"dashctl.service lacks {line}")
    # /var/lib/dashctl is setup's (root): a StateDirectory= of that name would hand it to the
    # dynamic user. The daemon's own state is /var/lib/dashctl-daemon.
    for bad in ("StateDirectory=dashctl$", "AmbientCapabilities="):
        check(not re.search(rf"(?m)^{bad}", daemon), f"dashctl.service sets {bad} (uncommented)")
    with open(os.path.join(unit_dir, "dashctl-setup.service")) as f:
        setup = f.read()
    for line in ("Type=oneshot", "RemainAfterExit=yes", "PartOf=nftables.service",
                 "ReloadPropagatedFrom=nftables.service"):
        check(re.search(rf"(?m)^{re.escape(line)}$", setup), f"dashctl-setup.service lacks {line}")
    check(re.search(rf"(?m)^ExecReload={re.escape(binary)} setup$", setup),
          "dashctl-setup.service: a reload does not run setup")


def verify_units(unit_dir, man_dir, tmp):
    """systemd-analyze verify: clean means no output at all (unknown keys are only warnings)."""
    units = [os.path.join(unit_dir, u) for u in ("dashctl.service", "dashctl-setup.service")]
    # The man pages of Documentation= are looked up with man(1), here in the install's own tree.
    p = run(["systemd-analyze", "verify", *units], timeout=60, check_rc=False,
            env=clean_env(tmp, MANPATH=man_dir, SYSTEMD_LOG_COLOR="0"))
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          f"systemd-analyze verify -> {p.returncode}:\n{p.stdout}{p.stderr}")
    # The sandbox keeps the daemon's exposure low; weakening it shows here.
    p = run(["systemd-analyze", "security", "--offline=true", "--threshold=25", units[0]],
            timeout=60, check_rc=False, env=clean_env(tmp, SYSTEMD_LOG_COLOR="0"))
    check(p.returncode == 0, f"systemd-analyze security: exposure above 2.5:\n{p.stdout[-600:]}{p.stderr}")


def check_example(dashctl, example, tmp):
    """The example config as shipped, with its commented keys uncommented, and a typo refused."""
    with open(example) as f:
        text = f.read()
    variants = {
        "as shipped": text,
        # "#key = ..." and "#[table]" lines are commented-out config; "# ..." lines are prose.
        "all keys uncommented": re.sub(r"(?m)^#(?=\S)", "", text),
        "with a typo": text.replace("iot_interface  =", "iot_interfase  =", 1),
    }
    check(variants["all keys uncommented"].count("\n#[") == 0 and "\n[daemon]" in variants["all keys uncommented"],
          "the example's commented tables were not uncommented")
    for name, body in variants.items():
        d = tempfile.mkdtemp(dir=tmp)
        os.chmod(d, 0o700)
        path = os.path.join(d, "dashctl.toml")
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o600)  # the uncommented variant holds a password
        p = run([dashctl, "-c", path, "config", "check"], timeout=30, check_rc=False,
                env=clean_env(tmp))
        if name == "with a typo":
            check(p.returncode == 65 and "iot_interfase" in p.stderr,
                  f"config check accepted a typo in the example -> {p.returncode}: {p.stdout}{p.stderr}")
        else:
            check(p.returncode == 0 and "OK, 2 buttons" in p.stdout,
                  f"example config {name}: config check -> {p.returncode}: {p.stdout}{p.stderr}")


def case_install(args, tmp):
    expected = expected_files(args.source_dir)

    # The layout, for the prefix of the .deb, into a DESTDIR.
    root = os.path.join(tmp, "root")
    run(["cmake", "--install", args.build_dir, "--prefix", "/usr"], timeout=300,
        env={**os.environ, "DESTDIR": root})
    compare_sets(files_under(root), expected, f"cmake --install --prefix /usr, DESTDIR={root}")
    mode = lambda rel: stat.S_IMODE(os.stat(os.path.join(root, rel)).st_mode)
    for rel in ("usr/bin/dashctl", "usr/libexec/dashctl/dhcp-script"):
        check(mode(rel) == 0o755, f"{rel} mode {mode(rel):o}")
    for rel in expected - {"usr/bin/dashctl", "usr/libexec/dashctl/dhcp-script"}:
        check(mode(rel) == 0o644, f"{rel} mode {mode(rel):o}, not 644")
    check_units(os.path.join(root, system_unit_dir()), "/usr/bin/dashctl")
    with open(os.path.join(root, "usr/share/doc/dashctl/examples/dashctl.toml")) as f, \
         open(os.path.join(args.source_dir, "dist/dashctl.toml.example")) as g:
        check(f.read() == g.read(), "the installed example differs from dist/dashctl.toml.example")
    dashctl = os.path.join(root, "usr/bin/dashctl")
    p = run([dashctl, "version"], timeout=30)
    check(args.version in p.stdout, f"dashctl version: no {args.version}: {p.stdout}")
    check_example(dashctl, os.path.join(root, "usr/share/doc/dashctl/examples/dashctl.toml"), tmp)

    # Another prefix: the units follow it, and as they name a binary that exists, they verify.
    prefix = os.path.join(tmp, "opt")
    run(["cmake", "--install", args.build_dir, "--prefix", prefix], timeout=300)
    unit_dir = os.path.join(prefix, "lib/systemd/system")
    check(os.path.isfile(os.path.join(unit_dir, "dashctl.service")),
          f"prefix {prefix}: no units in {unit_dir}: {sorted(files_under(prefix))}")
    check_units(unit_dir, os.path.join(prefix, "bin/dashctl"))
    verify_units(unit_dir, os.path.join(prefix, "share/man"), tmp)
    print("install: layout, units, systemd-analyze verify and the example config are fine")


# ---------------------------------------------------------------------------------------------
# The .deb


def dpkg_status(name):
    p = run(["dpkg-query", "-W", "-f=${Status}", name], timeout=30, check_rc=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def dpkg(args, timeout=300):
    """dpkg, waiting (a bounded while) for another dpkg or apt to let go of its lock."""
    deadline = time.monotonic() + 120
    while True:
        p = run(["dpkg", *args], timeout=timeout, check_rc=False)
        locked = "lock" in p.stderr and ("held by" in p.stderr or "locked" in p.stderr)
        if not locked or time.monotonic() > deadline:
            return p
        time.sleep(2)


def build_deb(args):
    """scripts/package, into BUILD/package-deb; the path of the .deb it prints."""
    out = os.path.join(args.build_dir, "package-deb")
    p = run([os.path.join(args.source_dir, "scripts/package")], timeout=3000,
            env={**os.environ, "DASHCTL_PACKAGE_BUILD": out})
    deb = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    check(deb.startswith(out + "/") and deb.endswith(".deb") and os.path.isfile(deb),
          f"scripts/package printed {p.stdout!r}, not a .deb in {out}")
    return deb


def lintian_clean(deb, args):
    """lintian on the .deb: no error, no warning (debian/dashctl.lintian-overrides holds the
    tags that are right for dashctl, each with its reason)."""
    p = run(["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", deb], timeout=900,
            check_rc=False, env={**os.environ, "LC_ALL": "C.UTF-8"})
    tags = [l for l in p.stdout.splitlines() if re.match(r"[EW]: ", l)]
    check(p.returncode == 0 and not tags, f"lintian {os.path.basename(deb)} -> {p.returncode}:\n{p.stdout}{p.stderr}")


def inspect_deb(deb, args, tmp):
    """Fields, dependencies, maintainer scripts and files; returns the package's paths."""
    arch = run(["dpkg", "--print-architecture"], timeout=30).stdout.strip()
    check(os.path.basename(deb) == f"dashctl_{args.version}_{arch}.deb", f"file name {deb}")
    fields = {}
    for name in ("Package", "Version", "Architecture", "Maintainer", "Section", "Priority",
                 "Depends", "Recommends", "Suggests", "Description", "Conffiles"):
        fields[name] = run(["dpkg-deb", "-f", deb, name], timeout=30).stdout.strip()
    info = "\n".join(f"{k}: {v}" for k, v in fields.items())
    check(fields["Package"] == "dashctl", info)
    check(fields["Version"] == args.version, info)
    check(fields["Architecture"] == arch, info)
    check(re.fullmatch(r".+ <[^<>@\s]+@[^<>@\s]+>", fields["Maintainer"]), info)
    check(fields["Section"] == "net", info)
    description = fields["Description"].split("\n")
    check(description[0] == "local smart-home triggers from Wi-Fi Dash buttons"
          and len(description) > 3 and all(re.fullmatch(r" (\S.*|\.)", l) for l in description[1:])
          and description[0] not in "\n".join(description[1:]),
          f"Description: a summary, then lines indented by one space ('.' when empty):\n{info}")
    depends = [d.strip() for d in fields["Depends"].split(",")]
    # From dpkg-shlibdeps: every library the binary links, with a version.
    for lib in ("libc6", "libstdc++6", "libnftnl", "libmnl", "libnl-3", "libnl-route-3", "libmosquitto",
                "libssl3", "libfmt", "libtomlplusplus"):
        check(any(re.match(rf"{re.escape(lib)}\S* \(>= [^)]+\)", d) for d in depends),
              f"Depends lacks {lib} with a version:\n{info}")
    check(any(d.startswith("libspdlog") for d in depends), f"Depends lacks libspdlog:\n{info}")
    check(fields["Recommends"] == "dnsmasq | dnsmasq-base, nftables, ieee-data", info)
    check(fields["Suggests"] == "mosquitto", info)
    check(fields["Conffiles"] == "", f"the package ships conffiles (it must not ship /etc):\n{info}")

    control = os.path.join(tmp, "control")
    run(["dpkg-deb", "-e", deb, control], timeout=60)
    # debhelper's (dh_installsystemd) snippets, and prerm's word about `dashctl teardown`.
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(control, script)
        check(os.path.isfile(path) and os.access(path, os.X_OK), f"no executable {script} in the .deb")
        with open(path) as f:
            text = f.read()
        check("/run/systemd/system" in text, f"{script} does not ask whether systemd runs")
        check("dashctl.service" in text and "dashctl-setup.service" in text,
              f"{script} has no debhelper snippet for both units:\n{text}")
        # Nothing is enabled or started: the daemon needs a configuration first. (An upgrade
        # restarts a unit that runs: try-restart; deb-systemd-helper enable only re-creates
        # the links of a unit that the admin had enabled: was-enabled.)
        check(not re.search(r"(?m)^[^#\n]*(systemctl|deb-systemd-invoke)[^#\n]*\b(enable|start|(?<!try-)restart|--now)\b", text),
              f"{script} enables or starts a unit:\n{text}")
    with open(os.path.join(control, "prerm")) as f:
        prerm = f.read()
    check("dashctl teardown" in prerm, "prerm does not say that `dashctl teardown` removes setup's files")
    check(re.search(r"(?m)^\s*deb-systemd-invoke stop dashctl.service dashctl-setup.service", prerm),
          f"prerm does not stop the units on removal:\n{prerm}")
    with open(os.path.join(control, "postinst")) as f:
        postinst = f.read()
    check("daemon-reload" in postinst and "try-restart" in postinst,
          f"postinst does not reload systemd and restart a running unit on upgrade:\n{postinst}")

    listing = run(["dpkg-deb", "-c", deb], timeout=60).stdout
    files, dirs = set(), set()
    for line in listing.splitlines():
        perms, path = line.split()[0], line.split()[-1]
        path = path.lstrip(".").rstrip("/")
        if not path:
            continue
        (dirs if perms.startswith("d") else files).add(path.lstrip("/"))
    compare_sets(files, expected_files(args.source_dir, deb=True), f"dpkg-deb -c {deb}")
    check(not any(p.startswith(("etc", "var", "usr/local")) for p in files | dirs),
          f"the .deb ships under /etc, /var or /usr/local:\n{listing}")
    return files, dirs


def fresh_home(tmp):
    home = tempfile.mkdtemp(dir=tmp, prefix="home")
    # A user's ~/.bashrc, as Debian gives every new user: it loads bash-completion.
    if os.path.isfile("/etc/skel/.bashrc"):
        shutil.copy("/etc/skel/.bashrc", home)
    return home


def check_installed(version, tmp):
    p = run(["/usr/bin/dashctl", "version"], timeout=30, env=clean_env(fresh_home(tmp)))
    check(version in p.stdout, f"/usr/bin/dashctl version: no {version}: {p.stdout}")

    # man, in a fresh environment (no MANPATH): the page of the command and of the config.
    home = fresh_home(tmp)
    p = run(["man", "-w", "dashctl"], timeout=60, env=clean_env(home))
    check(p.stdout.strip() == "/usr/share/man/man8/dashctl.8.gz", f"man -w dashctl: {p.stdout}{p.stderr}")
    p = run(["man", "-w", "5", "dashctl.toml"], timeout=60, env=clean_env(home))
    check(p.stdout.strip() == "/usr/share/man/man5/dashctl.toml.5.gz", f"man -w 5 dashctl.toml: {p.stdout}")
    for page in ("dashctl", "dashctl-run"):
        p = run(["man", page], timeout=60, env=clean_env(home, MANPAGER="cat", MANWIDTH="80"))
        check(re.search(rf"(?m)^NAME\s*\n\s+{re.escape(page)}\b", p.stdout),
              f"man {page} shows no NAME {page}:\n{p.stdout[:800]}")
        check("SYNOPSIS" in p.stdout, f"man {page} shows no SYNOPSIS")

    # bash: a new interactive shell (its ~/.bashrc from /etc/skel loads bash-completion), which
    # loads dashctl's completion on demand, as on the first Tab; then a Tab after "dashctl ".
    home = fresh_home(tmp)
    probe = r'''
type _completion_loader >/dev/null 2>&1 || { echo "NO-BASH-COMPLETION"; exit 3; }
complete -p dashctl >/dev/null 2>&1 && { echo "LOADED-EAGERLY"; exit 4; }
_completion_loader dashctl
spec=$(complete -p dashctl) || { echo "NOT-LOADED"; exit 5; }
echo "SPEC: $spec"
fn=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$spec")
COMP_WORDS=(dashctl ""); COMP_CWORD=1; COMP_LINE="dashctl "; COMP_POINT=${#COMP_LINE}
"$fn" dashctl "" dashctl
echo "WORDS: ${COMPREPLY[*]}"
'''
    shells = [("non-login interactive (~/.bashrc)", ["bash", "-i", "-c", probe])]
    # A login shell gets it from /etc/profile.d/bash_completion.sh instead.
    shells.append(("login", ["bash", "-l", "-i", "-c", probe]))
    if not os.path.isfile(os.path.join(home, ".bashrc")):
        shells = shells[1:]
    for what, cmd in shells:
        p = run(cmd, timeout=60, env=clean_env(home), check_rc=False)
        words = re.search(r"(?m)^WORDS: (.*)$", p.stdout)
        check(p.returncode == 0 and words and "SPEC: complete -F " in p.stdout,
              f"bash ({what}) does not complete dashctl -> {p.returncode}:\n{p.stdout}{p.stderr[-600:]}")
        for verb in ("setup", "run", "status", "learn", "button", "config"):
            check(verb in words.group(1).split(), f"bash ({what}): 'dashctl <Tab>' lacks {verb}: {words.group(1)}")

    # zsh: its default fpath holds vendor-completions, and compinit maps dashctl to _dashctl.
    home = fresh_home(tmp)
    p = run(["zsh", "-f", "-c", 'print -l -- $fpath; autoload -Uz compinit; compinit -u -D; '
             'print -- "COMP: ${_comps[dashctl]}"'], timeout=60, env=clean_env(home))
    check("/usr/share/zsh/vendor-completions" in p.stdout.splitlines(), f"zsh's fpath: {p.stdout}")
    check(re.search(r"(?m)^COMP: _dashctl$", p.stdout), f"zsh's compinit has no _dashctl for dashctl:\n{p.stdout}{p.stderr}")

    # fish: a new user's fish (no config of its own; --no-config would skip the system's, which
    # sets the vendor completion path) completes the verbs after 'dashctl '.
    home = fresh_home(tmp)
    p = run(["fish", "-c", "complete -C 'dashctl '"], timeout=60, cwd=home,
            env=clean_env(home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                          XDG_DATA_HOME=os.path.join(home, ".local/share")))
    verbs = {line.split("\t")[0] for line in p.stdout.splitlines()}
    for verb in ("setup", "run", "status", "learn", "button", "config"):
        check(verb in verbs, f"fish: 'dashctl <Tab>' lacks {verb}:\n{p.stdout}{p.stderr}")

    # The units, installed, with their real paths.
    units = "/" + system_unit_dir()
    p = run(["systemd-analyze", "verify", f"{units}/dashctl.service",
             f"{units}/dashctl-setup.service"], timeout=60, check_rc=False,
            env=clean_env(home, SYSTEMD_LOG_COLOR="0"))
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          f"systemd-analyze verify of the installed units -> {p.returncode}:\n{p.stdout}{p.stderr}")


def case_deb(args, tmp):
    for tool in ("dpkg-buildpackage", "dh", "lintian", "dpkg", "dpkg-deb", "man", "bash", "zsh", "fish",
                 "systemd-analyze"):
        if not shutil.which(tool):
            raise Skip(f"{tool} is missing (scripts/bootstrap installs it)")
    if not os.path.isfile("/usr/share/bash-completion/bash_completion"):
        raise Skip("bash-completion is not installed (scripts/bootstrap installs it)")
    require_root("the test installs the .deb on this machine with dpkg -i, then removes it")
    # Never clobber a user's dashctl: not a package, not a file of ours from `cmake --install`.
    status = dpkg_status("dashctl")
    if status and not status.endswith("not-installed"):
        raise Skip(f"a dashctl package is already on this machine ({status}); "
                   "the test installs and removes its own, so it leaves that one alone")

    deb = build_deb(args)
    lintian_clean(deb, args)
    files, dirs = inspect_deb(deb, args, tmp)
    there = sorted("/" + f for f in files if os.path.lexists("/" + f))
    if there:
        raise Skip(f"files of the package exist on this machine already (a dashctl installed by hand?): {there}")
    new_dirs = {d for d in dirs if not os.path.lexists("/" + d)}

    installed = False
    try:
        p = dpkg(["-i", deb])
        installed = True  # also a half-configured install has to go again
        check(p.returncode == 0, f"dpkg -i {deb} -> {p.returncode}:\n{p.stdout}{p.stderr}")
        check(dpkg_status("dashctl") == "install ok installed", f"after dpkg -i: {dpkg_status('dashctl')}")
        for f in files:
            check(os.path.isfile("/" + f), f"dpkg -i: /{f} is missing")
        check_installed(args.version, tmp)

        p = dpkg(["-r", "dashctl"])
        check(p.returncode == 0, f"dpkg -r dashctl -> {p.returncode}:\n{p.stdout}{p.stderr}")
        # Removed, not installed. dpkg keeps a package with a postrm as "config-files" until it is
        # purged (policy: the postrm's purge must be able to run), and nothing else of it.
        status = dpkg_status("dashctl")
        check(status in ("deinstall ok config-files", ""), f"after dpkg -r, dashctl's status is {status!r}")
        left = sorted("/" + f for f in files if os.path.lexists("/" + f))
        left += sorted("/" + d for d in new_dirs if os.path.lexists("/" + d))
        check(not left, f"dpkg -r dashctl left {left}")
        info = sorted(f for f in os.listdir("/var/lib/dpkg/info") if f.startswith("dashctl."))
        check(set(info) <= {"dashctl.postrm", "dashctl.list"},
              f"dpkg -r dashctl left in /var/lib/dpkg/info: {info}")

        p = dpkg(["--purge", "dashctl"])
        check(p.returncode == 0, f"dpkg --purge dashctl -> {p.returncode}:\n{p.stdout}{p.stderr}")
        installed = False
        p = run(["dpkg", "-s", "dashctl"], timeout=30, check_rc=False)
        check(p.returncode != 0 and "not installed" in p.stderr,
              f"after dpkg --purge, dpkg -s dashctl -> {p.returncode}: {p.stdout}{p.stderr}")
        info = sorted(f for f in os.listdir("/var/lib/dpkg/info") if f.startswith("dashctl."))
        check(not info, f"dpkg --purge dashctl left in /var/lib/dpkg/info: {info}")
        # Nor any state of deb-systemd-helper's, nor a link to a unit.
        left = [f for d in ("/var/lib/systemd/deb-systemd-helper-enabled",
                            "/var/lib/systemd/deb-systemd-helper-masked", "/etc/systemd/system")
                for f in glob.glob(f"{d}/**/*dashctl*", recursive=True)]
        check(not left, f"dpkg --purge dashctl left {sorted(left)}")
    finally:
        if installed or dpkg_status("dashctl") not in ("", "unknown ok not-installed"):
            p = dpkg(["--purge", "dashctl"])
            if p.returncode != 0:
                print(f"cleanup: dpkg --purge dashctl -> {p.returncode}: {p.stdout}{p.stderr}", file=sys.stderr)
    print(f"deb: {os.path.basename(deb)} inspected, installed, used and removed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("case", choices=["install", "deb"])
    args = ap.parse_args()
    args.build_dir, args.source_dir = os.path.abspath(args.build_dir), os.path.abspath(args.source_dir)
    for tool in ("cmake", "systemd-analyze"):
        if not shutil.which(tool):
            print(f"skipped: {tool} is missing", file=sys.stderr)
            return SKIP
    tmp = tempfile.mkdtemp(prefix=f"dashctl-package-{args.case}-")
    try:
        return run_case({"install": case_install, "deb": case_deb}[args.case], args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
