#!/bin/sh
# docs/API.md names every route of the OpenAPI document as `METHOD /path`,
# and names no route the document lacks, so the reference and the served
# document change together.
#   check_api_doc.sh [OPENAPI_JSON]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
doc=$root/docs/API.md
spec=${1:-$root/build/openapi.json}
[ -f "$spec" ] || { echo "check_api_doc: $spec is missing (make build)"; exit 1; }
n=0
missing=0
for r in $(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] |
    select(test("^(get|put|post|patch|delete)$")) |
    "\(ascii_upcase)_\($p)"' "$spec"); do
	n=$((n + 1))
	route=$(echo "$r" | sed 's/_/ /')
	if ! grep -qF "\`$route\`" "$doc"; then
		echo "check_api_doc: docs/API.md does not name \`$route\`"
		missing=$((missing + 1))
	fi
done
routes=$(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] |
    "\(ascii_upcase) \($p)"' "$spec")
grep -oE '`(GET|PUT|POST|PATCH|DELETE) /[^` ]*`' "$doc" | tr -d '`' | sort -u |
while read -r m p; do
	echo "$routes" | grep -qxF "$m $p" ||
	    echo "check_api_doc: docs/API.md names \`$m $p\`, which the OpenAPI document lacks"
done > "${TMPDIR:-/tmp}/check_api_doc.$$"
if [ -s "${TMPDIR:-/tmp}/check_api_doc.$$" ]; then
	cat "${TMPDIR:-/tmp}/check_api_doc.$$"
	missing=$((missing + 1))
fi
rm -f "${TMPDIR:-/tmp}/check_api_doc.$$"
[ "$n" -gt 0 ] || { echo "check_api_doc: no routes in $spec"; exit 1; }
[ "$missing" = 0 ] && echo "check_api_doc: docs/API.md names all $n routes"
[ "$missing" = 0 ]
