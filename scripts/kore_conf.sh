#!/bin/sh
# Write a Kore configuration from another, with directives set by name:
# each line whose first word is a given directive gets the given value
# (its indentation kept, whatever spacing followed the name); a directive
# the file lacks is added at the end (pidfile).
#   kore_conf.sh IN OUT [directive=value ...]
#   kore_conf.sh kore.conf run/kore.conf "bind=127.0.0.1 18080" workers=4
# A directive set on more than one line is refused: the value would be
# ambiguous (bind in two server blocks, say).
set -eu
in=$1
out=$2
shift 2
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$@" | awk '
NR == FNR {
	if ($0 == "")
		next
	i = index($0, "=")
	if (i < 2) {
		print "kore_conf: not directive=value: " $0 > "/dev/stderr"
		bad = 1
		exit 1
	}
	name = substr($0, 1, i - 1)
	val[name] = substr($0, i + 1)
	order[++n] = name
	next
}
($1 in val) {
	match($0, /^[ \t]*/)
	print substr($0, 1, RLENGTH) $1 "\t" val[$1]
	seen[$1]++
	next
}
{ print }
END {
	if (bad)
		exit 1
	for (i = 1; i <= n; i++) {
		if (seen[order[i]] > 1) {
			print "kore_conf: " order[i] " is set on " \
			    seen[order[i]] " lines" > "/dev/stderr"
			exit 1
		}
		if (!seen[order[i]])
			print order[i] "\t" val[order[i]]
	}
}' - "$in" > "$tmp"
mv "$tmp" "$out"
trap - EXIT
