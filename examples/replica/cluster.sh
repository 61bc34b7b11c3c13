#!/usr/bin/env bash
# A 3-node NATS JetStream cluster on loopback for the replicated ledger.
#
#   cluster.sh start   DIR PORT1 PORT2 PORT3 [CLUSTER_PORT1 CLUSTER_PORT2 CLUSTER_PORT3]
#   cluster.sh stop    DIR
#   cluster.sh status  DIR
#   cluster.sh kill    DIR NODE     kill -9 one node (NODE is n1, n2 or n3)
#   cluster.sh restart DIR NODE     start a stopped or killed node again
#   cluster.sh urls    DIR          the client URLs, comma-separated
#   cluster.sh leader  DIR          the JetStream meta leader's server name
#
# start writes one configuration per node, DIR/nK.conf, from node.conf.in
# beside this script (server_name nK, client port PORTK, cluster port
# CLUSTER_PORTK or a free one, a free monitoring port, JetStream store
# DIR/nK/), starts the three servers, records their pids in DIR/nK.pid and
# returns once every node reports a JetStream meta leader (it polls each
# node's monitoring endpoint /jsz; 30 s at most). restart waits until the
# node has a meta leader again and its /healthz answers ok (its streams
# have caught up). stop ends the recorded processes (TERM, then KILL after
# 10 s) and keeps DIR, so a later start with the same DIR recovers the
# stored streams; remove DIR to start empty. Processes are only ever
# signalled by their recorded pid, after checking that the pid still runs
# nats-server with this node's configuration.
#
# Needs bash, python3 (to find free ports) and nats-server (Debian's
# nats-server 2.9.10; NATS_SERVER overrides the binary).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
nodes=(n1 n2 n3)

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

server_bin() {
  if [ -n "${NATS_SERVER:-}" ]; then
    echo "$NATS_SERVER"
  elif command -v nats-server >/dev/null 2>&1; then
    command -v nats-server
  elif [ -x /usr/sbin/nats-server ]; then
    echo /usr/sbin/nats-server
  else
    die "nats-server not found (apt-get install nats-server, or set NATS_SERVER)"
  fi
}

# free_ports N: N distinct free loopback TCP ports, one a line.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
PY
}

# http_get PORT PATH: the body of a monitoring endpoint, or failure.
http_get() {
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
  timeout 2 cat <&"$fd" | sed '1,/^\r\{0,1\}$/d'
  local rc=${PIPESTATUS[0]}
  exec {fd}>&-
  return "$rc"
}

load_ports() {
  [ -f "$dir/ports.env" ] || die "$dir/ports.env missing: run start first"
  # shellcheck disable=SC1091
  . "$dir/ports.env"
}

# node_pid NODE: the recorded pid if it still runs this node's server.
node_pid() {
  local f="$dir/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$dir/$1.conf" || return 1
  echo "$pid"
}

# alive PID: the process exists and is not a zombie.
alive() {
  [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^Z'
}

http_port_of() {
  local v="HTTP_$1"
  echo "${!v}"
}

# meta_leader NODE: the meta leader this node reports (empty if none yet).
meta_leader() {
  http_get "$(http_port_of "$1")" /jsz 2>/dev/null |
    grep -o '"leader": *"[^"]*"' | head -n1 | sed 's/.*: *"\(.*\)"/\1/' || true
}

healthy() {
  http_get "$(http_port_of "$1")" /healthz 2>/dev/null | grep -q '"status": *"ok"'
}

write_conf() { # NODE CLIENT_PORT CLUSTER_PORT HTTP_PORT
  mkdir -p "$dir/$1"
  sed -e "s|@NAME@|$1|" -e "s|@PORT@|$2|" -e "s|@CLUSTER_PORT@|$3|" -e "s|@HTTP_PORT@|$4|" \
    -e "s|@STORE_DIR@|$dir/$1|" -e "s|@CLUSTER_PORT1@|$CLUSTER_n1|" \
    -e "s|@CLUSTER_PORT2@|$CLUSTER_n2|" -e "s|@CLUSTER_PORT3@|$CLUSTER_n3|" \
    "$here/node.conf.in" >"$dir/$1.conf"
}

launch() { # NODE
  local bin
  bin=$(server_bin)
  if node_pid "$1" >/dev/null; then
    die "$1 is already running (pid $(node_pid "$1"))"
  fi
  "$bin" -c "$dir/$1.conf" >>"$dir/$1.log" 2>&1 &
  echo $! >"$dir/$1.pid"
}

# wait_ready NODE... [--healthy]: until each node reports a meta leader.
wait_ready() {
  local want_health=0 n ok deadline=$((SECONDS + 30))
  local list=()
  for n in "$@"; do
    if [ "$n" = --healthy ]; then want_health=1; else list+=("$n"); fi
  done
  while :; do
    ok=1
    for n in "${list[@]}"; do
      # Alive by its recorded pid (just after the fork the process may not
      # run nats-server yet, so node_pid's command-line check would fail).
      alive "$(cat "$dir/$n.pid")" || {
        echo "--- $dir/$n.log" >&2
        tail -n 30 "$dir/$n.log" >&2
        die "$n exited"
      }
      [ -n "$(meta_leader "$n")" ] || ok=0
      if [ "$ok" = 1 ] && [ "$want_health" = 1 ]; then healthy "$n" || ok=0; fi
      [ "$ok" = 1 ] || break
    done
    [ "$ok" = 1 ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || die "no JetStream meta leader after 30 s (logs in $dir)"
    sleep 0.1
  done
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case "$cmd" in
start)
  [ $# -eq 5 ] || [ $# -eq 8 ] || die "start DIR PORT1 PORT2 PORT3 [CLUSTER_PORT1 CLUSTER_PORT2 CLUSTER_PORT3]"
  for n in "${nodes[@]}"; do
    if node_pid "$n" >/dev/null; then die "$n is already running: stop DIR first"; fi
  done
  mapfile -t free < <(free_ports 6)
  if [ $# -eq 8 ]; then
    cluster=("$6" "$7" "$8")
  else
    cluster=("${free[3]}" "${free[4]}" "${free[5]}")
  fi
  client=("$3" "$4" "$5")
  {
    for i in 0 1 2; do
      echo "CLIENT_${nodes[$i]}=${client[$i]}"
      echo "CLUSTER_${nodes[$i]}=${cluster[$i]}"
      echo "HTTP_${nodes[$i]}=${free[$i]}"
    done
  } >"$dir/ports.env"
  load_ports
  for i in 0 1 2; do
    write_conf "${nodes[$i]}" "${client[$i]}" "${cluster[$i]}" "${free[$i]}"
  done
  for n in "${nodes[@]}"; do launch "$n"; done
  wait_ready "${nodes[@]}"
  echo "cluster up: meta leader $(meta_leader n1); urls $(
    IFS=,
    echo "nats://127.0.0.1:${client[*]}" | sed 's/,/,nats:\/\/127.0.0.1:/g'
  )"
  ;;
stop)
  for n in "${nodes[@]}"; do
    if pid=$(node_pid "$n"); then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  deadline=$((SECONDS + 10))
  for n in "${nodes[@]}"; do
    while pid=$(node_pid "$n"); do
      if [ "$SECONDS" -ge "$deadline" ]; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.05
    done
    rm -f "$dir/$n.pid"
  done
  ;;
status)
  load_ports
  rc=0
  for n in "${nodes[@]}"; do
    cport="CLIENT_$n"
    if pid=$(node_pid "$n"); then
      echo "$n up pid $pid port ${!cport} meta-leader $(meta_leader "$n")"
    else
      echo "$n down port ${!cport}"
      rc=1
    fi
  done
  exit "$rc"
  ;;
kill)
  n=${3:-}
  case "$n" in n1 | n2 | n3) ;; *) die "kill DIR NODE: NODE is n1, n2 or n3" ;; esac
  pid=$(node_pid "$n") || die "$n is not running"
  kill -KILL "$pid"
  while node_pid "$n" >/dev/null; do sleep 0.02; done
  rm -f "$dir/$n.pid"
  ;;
restart)
  n=${3:-}
  case "$n" in n1 | n2 | n3) ;; *) die "restart DIR NODE: NODE is n1, n2 or n3" ;; esac
  load_ports
  launch "$n"
  wait_ready "$n" --healthy
  ;;
urls)
  load_ports
  echo "nats://127.0.0.1:$CLIENT_n1,nats://127.0.0.1:$CLIENT_n2,nats://127.0.0.1:$CLIENT_n3"
  ;;
leader)
  load_ports
  for n in "${nodes[@]}"; do
    if node_pid "$n" >/dev/null; then
      l=$(meta_leader "$n")
      [ -n "$l" ] && {
        echo "$l"
        exit 0
      }
    fi
  done
  exit 1
  ;;
*)
  die "unknown command '$cmd' (start, stop, status, kill, restart, urls, leader)"
  ;;
esac
