#!/usr/bin/env bash
# Runs Västerbotten, Uppsala and the national deployment as three motor
# processes on loopback, each with its own redis-server, peers of each other
# over mTLS with dev certificates. Ctrl-C stops everything it started.
#
#   deploy/local/multiregion.sh [DIR]     (default DIR: ./multiregion)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-multiregion}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install -y redis-server" >&2; exit 1; }

go build -o "$dir/motor" ./cmd/motor
"$dir/motor" certs -out "$dir/certs" -regions vasterbotten,uppsala,national >/dev/null

declare -A http=([national]=8180 [vasterbotten]=8181 [uppsala]=8182)
declare -A grpc=([national]=9180 [vasterbotten]=9181 [uppsala]=9182)
declare -A admin=([national]=9480 [vasterbotten]=9481 [uppsala]=9482)
declare -A redis=([national]=6390 [vasterbotten]=6391 [uppsala]=6392)

peer() { printf '{"name": "%s", "address": "127.0.0.1:%s", "national": %s}' "$1" "${grpc[$1]}" "$2"; }
config() { # name regions national peers...
	local name=$1 regions=$2 national=$3; shift 3
	local peers
	peers=$(IFS=,; echo "$*")
	local targets='"all"'
	[ "$national" = true ] && targets='"national", "gateway", "portal"'
	cat >"$dir/$name.json" <<JSON
{"name": "$name", "national": $national, "regions": [$regions], "targets": [$targets],
 "http": "127.0.0.1:${http[$name]}", "grpc": "127.0.0.1:${grpc[$name]}", "admin": "127.0.0.1:${admin[$name]}",
 "data": "data/$name", "store": "redis://127.0.0.1:${redis[$name]}", "devKey": "data/devkey",
 "tls": {"ca": "certs/ca.pem", "cert": "certs/$name.pem", "key": "certs/$name-key.pem"},
 "peers": [$peers]}
JSON
}
config national '' true "$(peer vasterbotten false)" "$(peer uppsala false)"
config vasterbotten '"vasterbotten"' false "$(peer national true)" "$(peer uppsala false)"
config uppsala '"uppsala"' false "$(peer national true)" "$(peer vasterbotten false)"

pids=()
stop() {
	trap - INT TERM EXIT
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT

for name in national vasterbotten uppsala; do
	mkdir -p "$dir/redis-$name"
	redis-server --port "${redis[$name]}" --bind 127.0.0.1 --dir "$dir/redis-$name" \
		--appendonly yes --save "" --logfile "$dir/redis-$name/redis.log" &
	pids+=($!)
done
sleep 0.5
for name in national vasterbotten uppsala; do
	"$dir/motor" serve -config "$dir/$name.json" >"$dir/$name.out" 2>"$dir/$name.log" &
	pids+=($!)
done
for name in national vasterbotten uppsala; do
	for _ in $(seq 100); do
		grep -q '^motor: ready' "$dir/$name.out" 2>/dev/null && break
		sleep 0.2
	done
	grep -q '^motor: ready' "$dir/$name.out" || { echo "$name did not start; see $dir/$name.log" >&2; exit 1; }
done

cat <<EOT
national      http://127.0.0.1:${http[national]}      (programmes; the portal's national dashboard at /, sign in as the coordinator)
vasterbotten  http://127.0.0.1:${http[vasterbotten]}
uppsala       http://127.0.0.1:${http[uppsala]}

One dev key serves all three:
  $dir/motor token -data $dir/data/devkey -role coordinator
  $dir/motor token -data $dir/data/devkey -role advisor -region uppsala
Logs: $dir/*.log. Ctrl-C stops everything.
EOT
wait
