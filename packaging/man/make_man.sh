#!/usr/bin/env bash
# Writes the man page OUT.gz of PROGRAM (the built binary) with help2man, from its --help and
# --version, the include files given, and for a program with commands (loadgen) a section per
# command made from `PROGRAM COMMAND --help`. Compressed with gzip -9n (no name, no time stamp),
# as Debian wants. Usage: make_man.sh PROGRAM SUMMARY OUT [--command NAME]... [INCLUDE]...
set -euo pipefail
program=$1 summary=$2 out=$3
shift 3
commands=() includes=()
while (($#)); do
  if [[ $1 == --command ]]; then commands+=("$2"); shift 2; else includes+=("$1"); shift; fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=()
for include in "${includes[@]}"; do args+=(--include "$include"); done
if ((${#commands[@]})); then
  for command in "${commands[@]}"; do
    upper=$(tr '[:lower:]' '[:upper:]' <<<"$command")
    {
      printf '[%s COMMAND]\n.nf\n' "$upper"
      # roff: escape backslashes and minus signs, and keep lines from starting a request.
      "$program" "$command" --help | sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\\&\1/"
      printf '.fi\n'
    } >"$work/$command.h2m"
    args+=(--include "$work/$command.h2m")
  done
fi
help2man --no-info --no-discard-stderr --name "$summary" "${args[@]}" --output "$work/page.1" \
  "$program"
gzip -9n <"$work/page.1" >"$out.tmp"
mv "$out.tmp" "$out"
