#!/usr/bin/env bash
# Makes what docker-compose.tls.yml mounts: a private CA and a server certificate in ./certs, and a
# bcrypt htpasswd file in ./auth (next to the compose file, or under -o DIR).
#
#   scripts/tls-htpasswd-setup.sh [-o DIR] [-u USER] [HOST_OR_IP ...]
#
#   HOST_OR_IP  names clients will use for the registry (subjectAltName); localhost and 127.0.0.1
#               are always included (the container's HEALTHCHECK connects to localhost).
#   -u USER     the htpasswd user (default: admin). The password comes from $BERTH_PASSWORD, or is
#               generated and printed once.
#   -o DIR      where certs/ and auth/ go (default: the repository root, beside the compose files).
#
# Writes DIR/certs/{ca.crt,ca.key,registry.crt,registry.key} and DIR/auth/htpasswd. Run it again
# to change names or add users: an existing CA is kept (clients keep trusting it), the server
# certificate is issued anew for the names given (give them all each time), and the user is added
# to (or replaced in) the existing htpasswd file.
# Needs openssl, and `htpasswd` (Debian: apache2-utils) or Node.js with this checkout's bcryptjs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root
user='admin'
while getopts 'o:u:h' opt; do
  case $opt in
    o) out=$OPTARG ;;
    u) user=$OPTARG ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

case $user in
  '' | *:* | *[[:space:]]*) echo "tls-htpasswd-setup: the user name must be non-empty, without ':' or spaces" >&2; exit 2 ;;
esac
command -v openssl > /dev/null || { echo "tls-htpasswd-setup: openssl is required" >&2; exit 1; }

certs=$out/certs
auth=$out/auth
mkdir -p "$certs" "$auth"
# Keys and password hashes must never be committed: each directory ignores itself.
for dir in "$certs" "$auth"; do [ -e "$dir/.gitignore" ] || printf '*\n' > "$dir/.gitignore"; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# subjectAltName: localhost and 127.0.0.1, then every name given (IPv4/IPv6 literals as IP).
san='DNS:localhost,IP:127.0.0.1'
cn=localhost
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san="$san,IP:$name"; else san="$san,DNS:$name"; fi
  [ "$cn" = localhost ] && cn=$name
done

ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
if [ -s "$certs/ca.crt" ] && [ -s "$certs/ca.key" ]; then
  echo "keeping the existing CA $certs/ca.crt"
else
  openssl req -x509 "${ec[@]}" -days 3650 -keyout "$certs/ca.key" -out "$certs/ca.crt" \
    -subj '/CN=Berth registry CA' -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2> "$tmp/openssl.log" || { cat "$tmp/openssl.log" >&2; exit 1; }
  chmod 600 "$certs/ca.key"
fi

printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" > "$tmp/registry.ext"
{
  openssl req "${ec[@]}" -keyout "$certs/registry.key" -out "$tmp/registry.csr" -subj "/CN=$cn"
  # 825 days: the longest validity Apple's clients accept for a server certificate.
  openssl x509 -req -in "$tmp/registry.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial \
    -CAserial "$tmp/ca.srl" -days 825 -extfile "$tmp/registry.ext" -out "$certs/registry.crt"
} 2> "$tmp/openssl.log" || { cat "$tmp/openssl.log" >&2; exit 1; }
openssl verify -CAfile "$certs/ca.crt" "$certs/registry.crt" > /dev/null

# The image runs as the `node` user (uid 1000), which must read the key through the bind mount.
if [ "$(id -u)" = 1000 ]; then
  chmod 600 "$certs/registry.key"
elif [ "$(id -u)" = 0 ]; then
  chown 1000:1000 "$certs/registry.key" && chmod 600 "$certs/registry.key"
else
  chmod 644 "$certs/registry.key"
  echo "note: $certs/registry.key is world-readable so that the container's uid 1000 can read it;" \
    "run this script as root (it then chowns the key to 1000) to keep it private"
fi
chmod 644 "$certs/ca.crt" "$certs/registry.crt"

generated=
password=${BERTH_PASSWORD:-}
if [ -z "$password" ]; then
  password=$(openssl rand -base64 18 | tr '+/' '-_')
  generated=1
fi
htfile=$auth/htpasswd
if command -v htpasswd > /dev/null; then
  # -i: the password comes from stdin, never the command line; -B: bcrypt (the only hash Berth reads).
  if [ -e "$htfile" ]; then create=(); else create=(-c); fi
  printf '%s' "$password" | htpasswd -iB "${create[@]}" "$htfile" "$user" 2> "$tmp/htpasswd.log" ||
    { cat "$tmp/htpasswd.log" >&2; exit 1; }
else
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  BERTH_SETUP_USER=$user BERTH_SETUP_PASSWORD=$password BERTH_SETUP_FILE=$htfile node -e '
    const fs = require("node:fs");
    const bcrypt = require(require.resolve("bcryptjs", { paths: [process.argv[1]] }));
    const { BERTH_SETUP_USER: user, BERTH_SETUP_PASSWORD: password, BERTH_SETUP_FILE: file } = process.env;
    const kept = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l && !l.startsWith(`${user}:`)) : [];
    // Cost 5, as `htpasswd -B` uses by default.
    kept.push(`${user}:${bcrypt.hashSync(password, 5)}`);
    fs.writeFileSync(file, `${kept.join("\n")}\n`);
  ' "$root" || { echo "tls-htpasswd-setup: neither htpasswd (apache2-utils) nor bcryptjs in $root/node_modules is available" >&2; exit 1; }
fi
chmod 644 "$htfile"

echo "CA:          $certs/ca.crt   (give this to clients: /etc/docker/certs.d/<host>:<port>/ca.crt)"
echo "certificate: $certs/registry.crt for $san"
echo "htpasswd:    $htfile (user $user)"
if [ -n "$generated" ]; then echo "password for $user: $password"; fi
