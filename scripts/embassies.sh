#!/usr/bin/env bash
# Three embassies on one machine: a Garage cluster of three nodes on
# 127.0.0.1, one per zone, each zone named after a country, with
# replication factor 3 (every object in every country), SQLite metadata,
# a bucket `embassy` and a key allowed to read and write it.
#
#   scripts/embassies.sh start DIR     start the cluster (state under DIR)
#   scripts/embassies.sh stop DIR      stop it
#   scripts/embassies.sh stop-node DIR N / start-node DIR N
#                                      one country lost, then back (N = 1..3)
#                                      and brought up to date
#
# `start` writes DIR/env, to be sourced: AWS_ENDPOINT_URL (the first
# node), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and
# ENDPOINT_1..3, each node's S3 endpoint. Ports: LEGATION_GARAGE_PORT
# (default 29100) and up. Garage is a separate program (AGPL), run and
# never linked: `cargo install garage --version 2.5.0 --no-default-features
# --features bundled-libs,lmdb,sqlite` (scripts/test.sh does it when missing).
# CORS for browsers is set with boto3 (Debian: python3-boto3).
set -euo pipefail

cmd="${1:?usage: embassies.sh start|stop|stop-node|start-node DIR [N]}"
dir="${2:?the folder of the cluster}"
dir=$(realpath -m "$dir")
garage="${GARAGE:-$(command -v garage || echo "$HOME/.cargo/bin/garage")}"
base="${LEGATION_GARAGE_PORT:-29100}"
zones=(luxembourg estonia iceland)

node_conf() { echo "$dir/node$1/garage.toml"; }
g() { "$garage" -c "$(node_conf 1)" "$@"; }

start_node() {
    local i=$1 log="$dir/node$1/garage.log"
    RUST_LOG=warn "$garage" -c "$(node_conf "$i")" server >>"$log" 2>&1 &
    echo $! >"$dir/node$i/pid"
    # Up when its S3 port answers: up to 60 s, since the tests start
    # several clusters at once on two busy cores; at once if it exited.
    local pid=$!
    for _ in $(seq 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$((base + 10 * i + 2))") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "embassies.sh: node $i (${zones[$((i - 1))]}) did not start; see $log" >&2
    return 1
}

stop_node() {
    local pidfile="$dir/node$1/pid"
    [ -f "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

case "$cmd" in
start)
    [ -x "$garage" ] || { echo "embassies.sh: garage not found (see the top of this script)" >&2; exit 2; }
    for i in 1 2 3; do stop_node "$i"; done
    rm -rf "$dir" && mkdir -p "$dir"
    secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    for i in 1 2 3; do
        mkdir -p "$dir/node$i"
        cat >"$(node_conf "$i")" <<TOML
metadata_dir = "$dir/node$i/meta"
data_dir = "$dir/node$i/data"
db_engine = "sqlite"
replication_factor = 3
compression_level = "none"
# Blocks a node missed while it was down are fetched again 2 x this
# after it is back (the default, 5 min, makes a test wait 10 min).
rpc_timeout_msec = 5000
rpc_bind_addr = "127.0.0.1:$((base + 10 * i + 1))"
rpc_public_addr = "127.0.0.1:$((base + 10 * i + 1))"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$((base + 10 * i + 2))"
root_domain = ".s3.localhost"
TOML
        start_node "$i"
    done
    ids=()
    for i in 1 2 3; do
        ids+=("$("$garage" -c "$(node_conf "$i")" node id -q)")
    done
    for i in 2 3; do g node connect "${ids[$((i - 1))]}" >/dev/null; done
    for i in 1 2 3; do
        g layout assign -z "${zones[$((i - 1))]}" -c 1G "${ids[$((i - 1))]%%@*}" >/dev/null
    done
    g layout apply --version 1 >/dev/null
    g bucket create embassy >/dev/null
    key=$(g key create legation)
    key_id=$(echo "$key" | awk '/Key ID/ {print $NF}')
    key_secret=$(echo "$key" | awk '/Secret key/ {print $NF}')
    g bucket allow --read --write --owner embassy --key legation >/dev/null
    cat >"$dir/env" <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$((base + 12))
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$key_secret
export AWS_REGION=garage
export ENDPOINT_1=http://127.0.0.1:$((base + 12))
export ENDPOINT_2=http://127.0.0.1:$((base + 22))
export ENDPOINT_3=http://127.0.0.1:$((base + 32))
ENV
    # Browsers may read the bucket from any page (a viewer opened from a
    # file or another host) with range requests: CORS is set through the
    # S3 API, which Garage's own command line does not cover (boto3 from
    # Debian's python3-boto3).
    (. "$dir/env" && python3 - <<'PY'
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="garage")
s3.put_bucket_cors(Bucket="embassy", CORSConfiguration={"CORSRules": [{
    "AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
    "ExposeHeaders": ["Content-Range", "Content-Length", "Accept-Ranges", "ETag"],
    "MaxAgeSeconds": 3600}]})
PY
    )
    echo "three embassies (${zones[*]}) up; bucket embassy; settings in $dir/env"
    ;;
stop)
    for i in 1 2 3; do stop_node "$i"; done
    ;;
stop-node)
    stop_node "${3:?node 1..3}"
    ;;
start-node)
    start_node "${3:?node 1..3}"
    # Garage brings a returning node up to date by itself at its next
    # anti-entropy pass (every 10 minutes); an operator asks for it at
    # once with a full sync of the metadata tables, after which the node
    # fetches the blocks it missed (2 x rpc_timeout_msec later).
    # First the node must be connected to the others again.
    for _ in $(seq 120); do
        st=$("$garage" -c "$(node_conf "$3")" status 2>/dev/null || true)
        if [ -n "$st" ] && ! grep -q "FAILED NODES" <<<"$st"; then break; fi
        sleep 0.5
    done
    "$garage" -c "$(node_conf "$3")" repair --all-nodes --yes tables >/dev/null
    ;;
*)
    echo "embassies.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
