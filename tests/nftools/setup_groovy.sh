#!/usr/bin/env bash
# Put the Apache Groovy 4 jars the Nextflow checks need into tools/groovy/ (gitignored).
# They come from the npm package npm-groovy-lint@18.0.0, which ships groovy-4.0.26 (npm is reachable where Maven may
# not be). Idempotent: does nothing when the jars are already there. Needs node/npm; running the checks needs Java 17.
set -euo pipefail

PACKAGE="npm-groovy-lint@18.0.0"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${MAGE_GROOVY_LIB:-$REPO/tools/groovy}"

have_jars() {
    compgen -G "$DEST/groovy-4.*.jar" > /dev/null && compgen -G "$DEST/groovy-json-4.*.jar" > /dev/null
}

if have_jars; then
    echo "Groovy jars already in $DEST"
    exit 0
fi

command -v npm > /dev/null || { echo "ERROR: npm is needed to fetch $PACKAGE" >&2; exit 1; }
command -v java > /dev/null || echo "WARNING: java is not on PATH; the Nextflow checks need Java 17 to run" >&2

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "$PACKAGE" > /dev/null && tar -xzf ./*.tgz)

LIB="$WORK/package/lib/java/groovy/lib"
compgen -G "$LIB/groovy-4.*.jar" > /dev/null || { echo "ERROR: no groovy-4 jar in $PACKAGE (layout changed?)" >&2; exit 1; }

# Copy to a sibling folder, then rename: an interrupted run never leaves a half-filled tools/groovy.
mkdir -p "$(dirname "$DEST")"
STAGE="$(mktemp -d "$(dirname "$DEST")/.groovy-XXXXXX")"
cp "$LIB"/groovy*.jar "$STAGE"/
chmod 755 "$STAGE"
rm -rf "$DEST"
mv "$STAGE" "$DEST"
echo "Groovy jars installed in $DEST: $(cd "$DEST" && ls groovy-4.*.jar)"
