#!/usr/bin/python3
"""The web inbox's catalogs are complete: every msgid of the C++ sources (Msg("..."),
Tr(lang, "..."), the Say("...") of agent/validate*.cc, consent.cc, refusal.cc, confirmation.cc,
outbox.cc, opening.cc and delivery.cc, whose messages the forms, reviews and case pages show, and the policy's reasons
for a refusal in policy/decide.cc, found by Debian's xgettext) and every {{t "..."}} text of the templates has a
Thai translation in agent/web/po/th.po, none fuzzy, and msgfmt --check accepts the catalog.
After adding text: agent/web/po/update.sh, then translate what it brought into th.po."""
import glob
import os
import re
import subprocess
import sys

web = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../agent/web")


def po_entries(text):
    """(msgid, msgstr, fuzzy) of a .po or .pot text, obsolete entries left out."""
    entries, fuzzy, cur, field = [], False, {}, None
    for line in text.splitlines() + [""]:
        if line.startswith("#~"):
            continue
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            cur, field = {"msgid": eval(line[6:]), "msgstr": ""}, "msgid"
        elif line.startswith("msgstr "):
            cur["msgstr"], field = eval(line[7:]), "msgstr"
        elif line.startswith('"') and field:
            cur[field] += eval(line)
        elif not line.strip() and cur:
            entries.append((cur["msgid"], cur["msgstr"], fuzzy))
            cur, field, fuzzy = {}, None, False
    return [e for e in entries if e[0]]


def main():
    pot = subprocess.run(["xgettext", "--language=C++", "--from-code=UTF-8", "--keyword=Msg",
                          "--keyword=Tr:2", "--keyword=Say", "--keyword=deny",
                          "--keyword=Refused:2", "--omit-header", "-o", "-"] +
                         sorted(glob.glob(os.path.join(web, "*.cc"))) +
                         sorted(glob.glob(os.path.join(web, "..", "validate*.cc"))) +
                         [os.path.join(web, "..", f) for f in
                          ("consent.cc", "refusal.cc", "confirmation.cc", "outbox.cc",
                           "opening.cc", "delivery.cc")] +
                         [os.path.join(web, "..", "..", "policy", "decide.cc")],
                         check=True, capture_output=True, text=True).stdout
    wanted = {e[0] for e in po_entries(pot)}
    for f in glob.glob(os.path.join(web, "templates", "*.html")):
        wanted |= set(re.findall(r'\{\{t "([^"]*)"', open(f, encoding="utf-8").read()))
    th = po_entries(open(os.path.join(web, "po", "th.po"), encoding="utf-8").read())
    translated = {i for i, s, fuzzy in th if s and not fuzzy}
    missing = sorted(wanted - translated)
    fuzzy = sorted(i for i, s, f in th if f)
    subprocess.run(["msgfmt", "--check", "-o", "/dev/null", os.path.join(web, "po", "th.po")],
                   check=True)
    if missing or fuzzy:
        print("untranslated in th.po (run agent/web/po/update.sh, then translate):")
        for m in missing + fuzzy:
            print("  " + m)
        sys.exit(1)
    print("i18n_test: all %d texts of the web inbox are translated into Thai" % len(wanted))


if __name__ == "__main__":
    main()
