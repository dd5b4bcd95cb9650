#!/usr/bin/env python3
"""Compares the manual pages with the programs, both ways.

    man_check.py BINDIR MANDIR CONF_EXAMPLE SRCDIR

For sca, sca-manage, sca-agent and sca-tracer: the commands that
'PROGRAM --help' lists and the .SS subsections of the page's COMMANDS
section; then, for the program and for each command, the options that
--help lists (in its usage lines and its option list) and those the page
documents (in SYNOPSIS and the .TP tags of OPTIONS, or in the command's
.nf synopsis and .TP tags).  For scalpels.conf(5): the [section] keys of
its OPTIONS section, of the documented example configuration, and of the
programs' configuration table (KEY("section", "name", ...) in SRCDIR/src).

An option is written as it is typed ("--rows", "-a"), with the key for
options that take key=VALUE ("-t name=").  Prints every difference and
exits 1 when there is one.
"""
import glob
import gzip
import os
import re
import subprocess
import sys

PAGES = {"sca": "man1/sca.1", "sca-manage": "man8/sca-manage.8",
         "sca-agent": "man8/sca-agent.8", "sca-tracer": "man8/sca-tracer.8"}
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)(?: ([a-z_]+=))?")


def options_in(text):
    return {m.group(1) + (" " + m.group(2) if m.group(2) else "")
            for m in OPTION.finditer(text)}


def help_text(program, *args):
    run = subprocess.run([program, *args, "--help"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"'{os.path.basename(program)} {' '.join(args)} --help' exited "
                 f"{run.returncode}: {run.stderr}")
    return run.stdout


def help_commands(text):
    """The first word of each line of the 'Commands:' block."""
    block = re.search(r"^Commands:\n((?:  .*\n)+)", text, re.M)
    return [line.split()[0] for line in block.group(1).splitlines()] if block else []


def help_options(text):
    """Options in the usage lines (from 'usage:' to the first empty line)
    and at the head of option-list lines ('  -a, --agent NAMES  what')."""
    found, usage = set(), False
    for line in text.splitlines():
        usage = (usage or line.startswith("usage:")) and line.strip() != ""
        if usage:
            found |= options_in(line)
        elif re.match(r" {1,6}-", line):
            found |= options_in(re.split(r"  |: ", line.strip())[0])
    return found


def roff_args(rest):
    """A macro line's arguments, quotes removed."""
    return [a[1:-1] if a.startswith('"') else a
            for a in re.findall(r'"(?:[^"]|"")*"|\S+', rest)]


def roff_plain(line):
    """The text a roff line prints, without fonts and escapes."""
    m = re.match(r"\.(BR|RB|BI|IB|IR|RI|SM|SB|B|I)\s+(.*)", line)
    if m:
        join = "" if len(m.group(1)) == 2 else " "
        line = join.join(roff_args(m.group(2)))
    line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
    line = line.replace(r"\-", "-").replace(r"\e", "\\")
    line = re.sub(r"\\\(..", "?", line)
    return re.sub(r"\\[&%c|^]", "", line)


def read_page(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return f.read().splitlines()


def page_parts(lines):
    """{(section, subsection): {"tags": [...], "synopsis": [...]}}, and the
    subsections of each section in order."""
    parts, order = {}, {}
    section = subsection = None
    in_nf = tag_next = False
    for line in lines:
        if line.startswith(".\\\""):
            continue
        if line.startswith(".SH"):
            section, subsection = " ".join(roff_args(line[3:])), None
            order.setdefault(section, [])
            continue
        if line.startswith(".SS"):
            subsection = " ".join(roff_args(line[3:]))
            order[section].append(subsection)
            continue
        part = parts.setdefault((section, subsection), {"tags": [], "synopsis": []})
        if tag_next and not line.startswith((".PD", ".\\")):
            part["tags"].append(roff_plain(line))
            tag_next = False
        elif line.startswith(".TP"):
            tag_next = True
        elif line.startswith(".nf"):
            in_nf = True
        elif line.startswith(".fi"):
            in_nf = False
        elif in_nf and not line.startswith("."):
            part["synopsis"].append(roff_plain(line))
    return parts, order


def page_options(part):
    found = set()
    for text in part["tags"] + part["synopsis"]:
        found |= options_in(text)
    return found


problems = []


def compare(what, in_help, in_page, page):
    for opt in sorted(in_help - in_page):
        problems.append(f"{what}: '{opt}' is in --help but not in {page}")
    for opt in sorted(in_page - in_help):
        problems.append(f"{what}: '{opt}' is in {page} but not in --help")


def page_path(mandir, rel):
    for candidate in (os.path.join(mandir, rel), os.path.join(mandir, rel + ".gz")):
        if os.path.exists(candidate):
            return candidate
    problems.append(f"{rel} is not installed in {mandir}")
    return None


def check_program(bindir, mandir, program):
    path = page_path(mandir, PAGES[program])
    if path is None:
        return
    page = os.path.basename(PAGES[program]).replace(".", "(", 1) + ")"
    parts, order = page_parts(read_page(path))
    empty = {"tags": [], "synopsis": []}
    exe = os.path.join(bindir, program)
    text = help_text(exe)
    top = page_options(parts.get(("SYNOPSIS", None), empty))
    top |= page_options(parts.get(("OPTIONS", None), empty))
    compare(program, help_options(text), top, page)
    commands = help_commands(text)
    documented = {title.split()[0]: title for title in order.get("COMMANDS", [])}
    compare(f"{program} commands", set(commands), set(documented), page)
    for command in commands:
        if command in documented:
            compare(f"{program} {command}", help_options(help_text(exe, command)),
                    page_options(parts[("COMMANDS", documented[command])]), page)
    return len(commands)


def conf_keys_example(path):
    keys, section = set(), None
    with open(path) as f:
        for line in f:
            m = re.match(r"\[(\w+)\]", line)
            if m:
                section = m.group(1)
            m = re.match(r"#?([a-z_]+) *=", line)
            if m:
                keys.add(f"[{section}] {m.group(1)}")
    return keys


def conf_keys_table(srcdir):
    keys = set()
    for path in glob.glob(os.path.join(srcdir, "src", "**", "*.c"), recursive=True):
        with open(path, errors="replace") as f:
            for sec, name in re.findall(r'\bKEY\("(\w+)", "(\w+)"', f.read()):
                keys.add(f"[{sec}] {name}")
    return keys


def conf_keys_page(mandir):
    path = page_path(mandir, "man5/scalpels.conf.5")
    if path is None:
        return set()
    parts, order = page_parts(read_page(path))
    keys = set()
    for sub in order.get("OPTIONS", []):
        for tag in parts[("OPTIONS", sub)]["tags"]:
            keys.add(f"{sub} {tag.split()[0]}")
    return keys


def main():
    bindir, mandir, example, srcdir = sys.argv[1:5]
    counts = {p: check_program(bindir, mandir, p) for p in PAGES}
    page = conf_keys_page(mandir)
    for name, keys in (("etc/scalpels.conf", conf_keys_example(example)),
                       ("the configuration table", conf_keys_table(srcdir))):
        if not keys:
            problems.append(f"no configuration key found in {name}")
        for key in sorted(keys - page):
            problems.append(f"{key} is in {name} but not in scalpels.conf(5)")
        for key in sorted(page - keys):
            problems.append(f"{key} is in scalpels.conf(5) but not in {name}")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"pages agree with --help ({counts['sca']} sca and {counts['sca-manage']} "
          f"sca-manage commands) and with {len(page)} configuration keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
