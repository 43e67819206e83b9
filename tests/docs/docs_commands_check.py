#!/usr/bin/env python3
"""Every nrm, nrm-agent and nrm-broker command written in README.md and docs/*.md exists, and
every --option it names is one the command accepts: each is checked against the command's own
--help on the built binaries, so the documents cannot drift from the code.

Usage: docs_commands_check.py SOURCE_DIR BIN_DIR. Exit 0 when every command checks; otherwise
each failure is printed with its file and line.
"""
import os
import re
import shlex
import subprocess
import sys

PROGRAMS = ("nrm", "nrm-agent", "nrm-broker")
# nrm's command groups whose second word is a subcommand.
GROUPS = {"directory", "policy", "audit", "federation", "witness"}


def commands(path):
    """(line number, text) of each command line in fenced blocks and inline code spans."""
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    in_block = False
    pending, start = "", 0
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            body = line.split(" #", 1)[0].rstrip()  # a trailing comment is prose
            if pending:
                pending += " " + body.rstrip("\\").strip()
            else:
                pending, start = body.rstrip("\\").strip(), i
            if body.endswith("\\"):
                continue
            yield start, pending
            pending = ""
        else:
            for span in re.findall(r"`([^`]+)`", line):
                yield i, span


def parse(text):
    """(program, words before the options, options) of the command in `text`, or None."""
    text = text.replace("&&", ";").replace("|", ";")
    for part in text.split(";"):
        try:
            tokens = shlex.split(part, comments=False)
        except ValueError:
            tokens = part.split()
        for k, t in enumerate(tokens):
            if os.path.basename(t) in PROGRAMS and (k == 0 or tokens[k - 1] not in ("-u", "--user")):
                prog = os.path.basename(t)
                rest = tokens[k + 1:]
                # nrm-agent --config FILE COMMAND ...: the command comes after the config.
                if prog == "nrm-agent" and rest[:1] == ["--config"]:
                    rest = rest[2:]
                words = []
                for w in rest:
                    if w.startswith("-") or len(words) == (2 if prog == "nrm" else 1):
                        break
                    if not re.fullmatch(r"[a-z][a-z0-9-]*", w):
                        break  # a path, a placeholder or prose: not a command word
                    words.append(w)
                if prog == "nrm" and words and words[0] not in GROUPS:
                    words = words[:1]
                if prog == "nrm-broker":
                    words = []
                if not words and prog != "nrm-broker":
                    return None  # a bare program name in prose
                options = [o.split("=")[0] for o in rest if re.fullmatch(r"--[a-z][a-z0-9-]*(=.*)?", o)]
                return prog, words, options
    return None


def main():
    source, bins = sys.argv[1], sys.argv[2]
    files = [os.path.join(source, "README.md")] + sorted(
        os.path.join(source, "docs", f) for f in os.listdir(os.path.join(source, "docs")) if f.endswith(".md"))
    helps, failures, checked = {}, [], 0
    for path in files:
        for line, text in commands(path):
            cmd = parse(text)
            if cmd is None:
                continue
            prog, words, options = cmd
            key = (prog, tuple(words))
            if key not in helps:
                run = subprocess.run([os.path.join(bins, prog), *words, "--help"], capture_output=True,
                                     text=True, timeout=30, stdin=subprocess.DEVNULL)
                helps[key] = (run.returncode, run.stdout + run.stderr)
            code, help_text = helps[key]
            where = f"{os.path.relpath(path, source)}:{line}: {text.strip()}"
            checked += 1
            if code != 0 or (words and " ".join(words) not in help_text):
                failures.append(f"{where}\n    '{prog} {' '.join(words)} --help' (exit {code}) does not"
                                " describe this command: no such command")
                continue
            for o in options:
                if o not in ("--help", "--config") and o not in help_text:
                    failures.append(f"{where}\n    {o} is not an option of '{prog} {' '.join(words)}'")
    for f in failures:
        print(f)
    print(f"docs_commands_check: {checked} command lines, {len(helps)} commands, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
