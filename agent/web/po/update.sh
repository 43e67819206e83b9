#!/usr/bin/env bash
# Regenerates nrm-web.pot, the template of the web inbox's catalogs, from the sources: the C++
# msgids (Msg("..."), Tr(lang, "..."), the Say("...") of the agent's messages the pages show:
# agent/validate*.cc, consent.cc, refusal.cc, confirmation.cc, outbox.cc, opening.cc,
# delivery.cc; and the policy's reasons for a refusal, deny("...") and Refused(hash, "...") in policy/decide.cc) with
# Debian's xgettext, and the {{t "..."}} texts of the templates; then merges it into every
# catalog (msgmerge). Translate what is new in th.po (the test WebCatalogs fails until every
# msgid has a translation), then rebuild.
# Usage: agent/web/po/update.sh
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The messages of the case data validation and the consent check (Say("...")), which the forms
# and reviews show; why a step did not get through; the policy's reasons.
xgettext --language=C++ --from-code=UTF-8 --keyword=Msg --keyword=Tr:2 --keyword=Say \
  --keyword=deny --keyword=Refused:2 --no-location --omit-header --sort-output \
  -o "$tmp/code.pot" ../*.cc ../../validate*.cc ../../consent.cc ../../refusal.cc \
  ../../confirmation.cc ../../outbox.cc ../../opening.cc ../../delivery.cc \
  ../../../policy/decide.cc
{
  for f in ../templates/*.html; do
    grep -o '{{t "[^"]*"' "$f" | sed 's/^{{t "\(.*\)"$/\1/' || true
  done
} | sort -u | while IFS= read -r text; do
  printf 'msgid "%s"\nmsgstr ""\n\n' "$text"
done > "$tmp/templates.pot"
msgcat --use-first --sort-output -o "$tmp/all.pot" "$tmp/code.pot" "$tmp/templates.pot" extra.pot
{
  printf 'msgid ""\nmsgstr ""\n"Project-Id-Version: nrm-web\\n"\n"MIME-Version: 1.0\\n"\n'
  printf '"Content-Type: text/plain; charset=UTF-8\\n"\n"Content-Transfer-Encoding: 8bit\\n"\n\n'
  cat "$tmp/all.pot"
} > nrm-web.pot
for po in *.po; do
  msgmerge --quiet --update --no-fuzzy-matching --backup=none "$po" nrm-web.pot
done
echo "update.sh: $(grep -c '^msgid' nrm-web.pot) msgids in nrm-web.pot"
