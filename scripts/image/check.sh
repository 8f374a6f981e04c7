#!/usr/bin/env bash
# Exercises the Dockerfile on a host with no Docker engine: runs the build stage's script into a
# temp dir, lays out the runtime stage's files the same way (config at the image's path, rewritten
# to a temp data dir and port), starts the entrypoint, and checks /v2/, the HEALTHCHECK script and
# the web UI's files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# The Dockerfile must call the script this check runs, and copy the files it checks.
grep -q 'RUN scripts/image/build.sh /opt/berth' "$root/Dockerfile"
grep -q 'COPY scripts/image/config.yml /etc/docker/registry/config.yml' "$root/Dockerfile"
grep -q 'ENTRYPOINT \["node", "/opt/berth/packages/cli/bin/berth.js"\]' "$root/Dockerfile"
# The image's Node is the one .ci/run's second test run uses (node24_major=MAJOR), and engines allows it.
ci_major=$(sed -n 's/^node24_major=\([0-9]*\)$/\1/p' "$root/.ci/run")
image_major=$(sed -n 's/^FROM node:\([0-9]*\)-.*/\1/p' "$root/Dockerfile" | sort -u)
[ -n "$ci_major" ] && [ "$image_major" = "$ci_major" ] || { echo "image check: the Dockerfile's node:$image_major is not the Node ${ci_major:-?} .ci/run tests"; exit 1; }
grep -q "\"node\": \".*\\^$ci_major\\." "$root/package.json" || { echo "image check: package.json engines does not allow Node $ci_major"; exit 1; }

"$root/scripts/image/build.sh" "$tmp/opt/berth" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
cp "$root/scripts/image/healthcheck.js" "$tmp/opt/berth/healthcheck.js"
[ ! -e "$tmp/opt/berth/node_modules/typescript" ] || { echo "dev dependencies left in the image"; exit 1; }

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
sed -e "s|/var/lib/registry|$tmp/data|" "$root/scripts/image/config.yml" > "$tmp/config.yml"
REGISTRY_HTTP_ADDR="127.0.0.1:$port" REGISTRY_UI_ENABLED=true node "$tmp/opt/berth/packages/cli/bin/berth.js" serve "$tmp/config.yml" > "$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  if BERTH_HEALTHCHECK_URL="http://127.0.0.1:$port/v2/" node "$tmp/opt/berth/healthcheck.js"; then
    # The web UI ships in the tree (REGISTRY_UI_ENABLED=true above; the image's config leaves it off).
    for page in ui/ ui/app.js ui/app.css; do
      node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$port/$page" ||
        { echo "image check: /$page is not served"; cat "$tmp/serve.log"; exit 1; }
    done
    echo "image check: built runtime tree ($(du -sh "$tmp/opt/berth" | cut -f1)) serves /v2/ and /ui/ on 127.0.0.1:$port and the HEALTHCHECK passes"
    exit 0
  fi
  sleep 0.2
done
cat "$tmp/serve.log"
echo "image check: the built runtime tree did not answer on /v2/"
exit 1
