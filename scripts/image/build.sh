#!/usr/bin/env bash
# Builds Berth into DEST as the runtime image holds it: compiled packages and production
# dependencies only. The Dockerfile's build stage runs exactly this script, and
# scripts/image/check.sh runs it on a host without a Docker engine, so both test the same steps.
#   usage: scripts/image/build.sh DEST   (run from a checkout; DEST must not exist or be empty)
set -euo pipefail
dest=${1:?usage: build.sh DEST}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A clean copy of what the image needs, so a developer's node_modules and dist never leak in.
mkdir -p "$work/packages"
cp "$src/package.json" "$src/package-lock.json" "$src/tsconfig.base.json" "$src/tsconfig.json" "$work/"
for pkg in "$src"/packages/*/; do
  name=$(basename "$pkg")
  mkdir -p "$work/packages/$name"
  cp -r "$pkg/package.json" "$pkg/tsconfig.json" "$pkg/src" "$work/packages/$name/"
  [ -d "$pkg/bin" ] && cp -r "$pkg/bin" "$work/packages/$name/"
  # The web UI: its pages (public/, shipped) and browser scripts (web/, compiled into dist/public/).
  for extra in public web; do [ -d "$pkg/$extra" ] && cp -r "$pkg/$extra" "$work/packages/$name/"; done
done

cd "$work"
npm ci --no-audit --no-fund --ignore-scripts
npx tsc -b
npm prune --omit=dev --no-audit --no-fund
find packages -name '*.tsbuildinfo' -delete
rm -rf packages/*/src packages/*/web packages/*/dist/web-types packages/*/tsconfig.json tsconfig.json tsconfig.base.json

mkdir -p "$dest"
cp -a "$work/." "$dest/"
echo "berth built into $dest"
