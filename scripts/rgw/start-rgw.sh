#!/usr/bin/env bash
# Starts a throw-away Ceph RADOS Gateway (a real S3 server) on 127.0.0.1 from Debian's ceph packages
# (ceph-mon ceph-osd radosgw ceph-common ceph-base) and keeps it running in the foreground.
#
# The cluster is one monitor, one OSD (memstore by default, or BlueStore on a sparse file) and one
# radosgw, every path inside one directory, cephx off (RGW still checks S3 SigV4 signatures).
# Every daemon runs in the foreground (-f) as a child of this script, in this script's process
# group: whoever starts the script with its own process group (setsid, or Node's
# spawn({detached: true})) stops everything with one `kill -TERM -<pgid>`.
#
# When the gateway answers and the user and bucket exist, the script prints the connection as
# REGISTRY_TEST_S3_* lines followed by `RGW_READY` on stdout, writes the same lines to DIR/s3.env,
# and then waits; progress and errors go to stderr. It kills the daemons (and removes DIR if it
# created it, or with --remove-dir) on SIGTERM/SIGINT, when a daemon exits, or when the process
# given by --watch-pid is gone.
#
# Usage: scripts/rgw/start-rgw.sh [--dir DIR] [--port PORT] [--mon-port PORT]
#          [--store memstore|bluestore] [--bucket NAME] [--access-key KEY] [--secret-key KEY]
#          [--watch-pid PID] [--remove-dir]
# Defaults: a new mktemp dir (removed on exit), free ports, memstore, bucket berth-test, keys
# berthtest/berthtestsecret. --remove-dir removes a given --dir on exit too.
# Environment: BERTH_RGW_STORE=memstore|bluestore sets the default of --store.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR=""
RGW_PORT=""
MON_PORT=""
STORE="${BERTH_RGW_STORE:-memstore}"
BUCKET="berth-test"
ACCESS_KEY="berthtest"
SECRET_KEY="berthtestsecret"
WATCH_PID=""
REMOVE_DIR=0

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --port) RGW_PORT="$2"; shift 2 ;;
    --mon-port) MON_PORT="$2"; shift 2 ;;
    --store) STORE="$2"; shift 2 ;;
    --bucket) BUCKET="$2"; shift 2 ;;
    --access-key) ACCESS_KEY="$2"; shift 2 ;;
    --secret-key) SECRET_KEY="$2"; shift 2 ;;
    --watch-pid) WATCH_PID="$2"; shift 2 ;;
    --remove-dir) REMOVE_DIR=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "start-rgw: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { echo "start-rgw: $*" >&2; }
die() { log "$*"; exit 1; }

for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph node; do
  command -v "$bin" >/dev/null || die "$bin not found (apt-get install ceph-mon ceph-osd radosgw ceph-common ceph-base)"
done
case "$STORE" in memstore|bluestore) ;; *) die "--store must be memstore or bluestore" ;; esac

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
[ -n "$RGW_PORT" ] || RGW_PORT="$(free_port)"
[ -n "$MON_PORT" ] || MON_PORT="$(free_port)"
if [ -z "$DIR" ]; then DIR="$(mktemp -d /tmp/berth-rgw.XXXXXX)"; REMOVE_DIR=1; fi
mkdir -p "$DIR"/{run,log,mon,osd,rgw,crash,tmp}
CONF="$DIR/ceph.conf"
FSID="$(cat /proc/sys/kernel/random/uuid)"
OSD_UUID="$(cat /proc/sys/kernel/random/uuid)"

PIDS=()
STOPPING=0
cleanup() {
  local rc=$?
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  trap - TERM INT EXIT
  # The cluster is disposable (the next start runs mkfs again), so the daemons get SIGKILL: a
  # graceful stop would make memstore dump every stored object to DIR first.
  if [ ${#PIDS[@]} -gt 0 ]; then
    kill -KILL "${PIDS[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  if [ "$REMOVE_DIR" = 1 ]; then rm -rf "$DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if [ "$STORE" = memstore ]; then
  STORE_CONF="osd objectstore = memstore
memstore device bytes = 17179869184"
else
  STORE_CONF="osd objectstore = bluestore
bluestore block create = true
bluestore block size = 21474836480
bluestore fsck on mount = false
bluestore fsck on mkfs = false
bluestore block db create = false
bluestore block wal create = false"
fi

cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
tmp dir = $DIR/tmp
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
rgw data = $DIR/rgw/\$cluster-\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# radosgw defaults to a "secure" monitor connection, which needs cephx; with auth none it must be crc.
ms mon client mode = crc
paxos propose interval = 0.05
paxos min wait = 0.01
$STORE_CONF

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF

started_ms=$(date +%s%3N)
C=(-c "$CONF")

log "dir $DIR, monitor 127.0.0.1:$MON_PORT, gateway 127.0.0.1:$RGW_PORT, $STORE"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap" >"$DIR/log/mkfs-mon.out" 2>&1 \
  || die "ceph-mon --mkfs failed: $(tail -5 "$DIR/log/mkfs-mon.out")"
ceph-mon "${C[@]}" -f -i a >>"$DIR/log/mon.out" 2>&1 &
PIDS+=($!)

OSD_ID="$(ceph "${C[@]}" --connect-timeout 30 osd new "$OSD_UUID" 2>>"$DIR/log/ceph-cli.err")" \
  || die "ceph osd new failed: $(tail -5 "$DIR/log/ceph-cli.err")"
mkdir -p "$DIR/osd/ceph-$OSD_ID"
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/mkfs-osd.out" 2>&1 \
  || die "ceph-osd --mkfs failed: $(tail -5 "$DIR/log/mkfs-osd.out")"
ceph-osd "${C[@]}" -f -i "$OSD_ID" >>"$DIR/log/osd.out" 2>&1 &
PIDS+=($!)

radosgw "${C[@]}" -n client.rgw.a -f >>"$DIR/log/rgw.out" 2>&1 &
PIDS+=($!)

daemons_alive() { for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done; }

# The gateway answers once its pools exist, which needs the OSD up.
deadline=$(( $(date +%s) + 120 ))
until (exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT") 2>/dev/null; do
  daemons_alive || die "a daemon exited during start-up; logs in $DIR/log (rgw: $(tail -3 "$DIR/log/rgw.out" 2>/dev/null))"
  [ "$(date +%s)" -lt "$deadline" ] || die "radosgw did not answer on 127.0.0.1:$RGW_PORT within 120 s"
  sleep 0.1
done

radosgw-admin "${C[@]}" -n client.admin user create --uid berth --display-name "berth tests" \
  --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >"$DIR/log/user-create.out" 2>&1 \
  || die "radosgw-admin user create failed: $(tail -5 "$DIR/log/user-create.out")"

ENDPOINT="http://127.0.0.1:$RGW_PORT"
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node "$HERE/create-bucket.cjs" "$ENDPOINT" "$ACCESS_KEY" "$SECRET_KEY" "$BUCKET" \
  || die "could not create bucket $BUCKET"

elapsed_ms=$(( $(date +%s%3N) - started_ms ))
elapsed="$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))"
ENV_LINES="REGISTRY_TEST_S3_REGIONENDPOINT=$ENDPOINT
REGISTRY_TEST_S3_REGION=us-east-1
REGISTRY_TEST_S3_BUCKET=$BUCKET
REGISTRY_TEST_S3_ACCESSKEY=$ACCESS_KEY
REGISTRY_TEST_S3_SECRETKEY=$SECRET_KEY
REGISTRY_TEST_S3_FORCEPATHSTYLE=true
BERTH_RGW_DIR=$DIR
BERTH_RGW_STARTUP_SECONDS=$elapsed"
printf '%s\n' "$ENV_LINES" >"$DIR/s3.env"
log "ready in ${elapsed}s at $ENDPOINT (bucket $BUCKET)"
printf '%s\nRGW_READY\n' "$ENV_LINES"

while daemons_alive; do
  if [ -n "$WATCH_PID" ] && ! kill -0 "$WATCH_PID" 2>/dev/null; then
    log "process $WATCH_PID is gone; stopping"
    exit 0
  fi
  sleep 1 &
  wait $! || true
done
die "a daemon exited; logs in $DIR/log"
