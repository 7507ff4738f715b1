#!/usr/bin/env bash
# Multi-host check of a deployed federation: the coordinator and each site run in their own Linux
# network namespace, joined through a router namespace by veth pairs, with mutual TLS. Three rounds
# of a tiny model run on 127.0.0.1 (no namespaces), across the namespaces without impairment, then
# with added latency and packet loss on every site <-> coordinator path; the per-round wall times
# are compared with `harmofl train` on the same federation (and the metrics must be equal).
# Needs root and a build (`npm run build`); not part of `npm test`.
#
#   sudo bash scripts/netns_federation.sh   # env: DELAY_MS=50 LOSS_PCT=1 SITES=3 ROUNDS=3 REPEAT=3 KEEP=1
#
# Impairment, per site link, each direction: tc netem (delay + loss) when the kernel has it.
# Without netem: loss by a tc classic-BPF filter (random match) whose action redirects the packet to
# a down ifb device (= drop), on both ends of the link; latency by scripts/netns_delay_relay.mjs, a
# TCP relay in the router namespace that holds every chunk DELAY_MS in each direction.
# Addresses (10.77.0.0/16) exist only inside the namespaces made here; no traffic leaves them.
# Every process is stopped by its pid and the namespaces are deleted on exit, failure included.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
RELAY="$ROOT/scripts/netns_delay_relay.mjs"
DELAY_MS=${DELAY_MS:-50}
LOSS_PCT=${LOSS_PCT:-1}
NSITES=${SITES:-3}
ROUNDS=${ROUNDS:-3}
REPEAT=${REPEAT:-3}
STRATEGY=${STRATEGY:-harmofl}
PORT=18443
LIMIT=150 # seconds any one process may run (each is wrapped in `timeout`)
TINY=(--model densenet --growth 4 --blocks 2,2 --features 8 --batch 4 --lr 0.05 --backend wasm)

[ "$(id -u)" = 0 ] || { echo "needs root (ip netns, tc)" >&2; exit 2; }
[ -f "$CLI" ] || { echo "no $CLI: run npm run build first" >&2; exit 2; }
for tool in ip tc node timeout; do command -v $tool > /dev/null || { echo "needs $tool" >&2; exit 2; }; done

TAG=hfl$$
R=$TAG-router
C=$TAG-coord
COORD=10.77.0.2
VIP=10.77.100.1 # the delay relay's address, in the router namespace
T=$(mktemp -d /tmp/harmofl-netns.XXXXXX)
namespaces=()
pids=()

# Our background processes that still run (pids we started, still our running jobs).
running() { for p in "${pids[@]}"; do jobs -pr | grep -qx "$p" && echo "$p"; done; }

cleanup() {
  set +e
  for p in $(running); do kill -TERM "$p" 2> /dev/null; done
  for _ in $(seq 50); do
    [ -z "$(running)" ] && break
    sleep 0.1
  done
  for p in $(running); do kill -KILL "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
  # Anything still inside a namespace of ours (by pid), then the namespaces with their links.
  for ns in "${namespaces[@]}"; do
    for p in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
    ip netns del "$ns" 2> /dev/null
  done
  left=$(ip netns list | grep -c "^$TAG-")
  [ "${KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
  echo "cleanup: $left namespaces of this run left, $(running | wc -l) processes of this run left"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", e - s }'; }

newns() {
  ip netns add "$1"
  namespaces+=("$1")
  ip -n "$1" link set lo up
}

# Waits (at most $2 s) until file $1 matches $3.
await_line() {
  local deadline=$((SECONDS + $2))
  until grep -q "$3" "$1" 2> /dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for '$3' in $1:" >&2; tail -20 "$1" >&2; return 1; }
    sleep 0.1
  done
}

# ---- what this kernel can emulate (probed in a throwaway namespace) ----
P=$TAG-probe
newns "$P"
ip -n "$P" link add pa type veth peer name pb
NETEM=0
CBPF=0
if ip netns exec "$P" tc qdisc add dev pa root netem delay 1ms loss 1% 2> "$T/probe.err"; then
  NETEM=1
else
  netem_error=$(tr -d '\n' < "$T/probe.err")
  if ip -n "$P" link add bh type ifb 2> /dev/null && ip netns exec "$P" tc qdisc add dev pa clsact 2> /dev/null \
    && ip netns exec "$P" tc filter add dev pa egress bpf bytecode '1,6 0 0 0' action mirred egress redirect dev bh 2> /dev/null; then
    CBPF=1
  fi
fi
ip netns del "$P"
namespaces=()

echo "== impairment on this kernel ($(uname -r))"
if [ $NETEM = 1 ]; then
  echo "   latency and loss: tc netem (delay ${DELAY_MS}ms loss ${LOSS_PCT}%) on both ends of each site link"
else
  echo "   !! tc netem is NOT available (tc: $netem_error)"
  echo "   !! latency: userspace TCP relay in the router namespace (scripts/netns_delay_relay.mjs), +${DELAY_MS} ms each way"
  echo "   !!   (it delays data, handshakes and replies; TCP's own ACK clock runs on the short legs, so window/BDP effects are not emulated)"
  if [ $CBPF = 1 ]; then
    echo "   !! loss: tc classic-BPF filter (random ${LOSS_PCT}%) + mirred to a down ifb device, egress of both ends of each site link"
  else
    echo "   !! loss: NOT emulated (no netem, and tc clsact + bpf + mirred + ifb did not work either)"
  fi
fi

# ---- the tiny federation and its kits ----
SITE_NAMES=()
for i in $(seq 0 $((NSITES - 1))); do SITE_NAMES+=("hospital$i"); done
node "$CLI" synth --out "$T/data" --sites "$NSITES" --patches-per-site 12 --patch-size 16 --cases-per-site 1 --volume-size 16 \
  --slices 6 --images-per-site 8 --image-size 16 --seed 1 > "$T/synth.log" 2>&1 || { cat "$T/synth.log" >&2; exit 1; }
DATA=$T/data/camelyon17
node "$CLI" provision --federation netns --server "$COORD:$PORT" --hosts "$VIP,127.0.0.1" --sites "$(IFS=,; echo "${SITE_NAMES[*]}")" \
  --out "$T/kits" > /dev/null

# ---- topology: router <-> coordinator, router <-> each site ----
newns "$R"
ip netns exec "$R" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
ip -n "$R" addr add "$VIP/32" dev lo
newns "$C"
ip -n "$R" link add rc type veth peer name eth0 netns "$C"
ip -n "$R" addr add 10.77.0.1/24 dev rc
ip -n "$R" link set rc up
ip -n "$C" addr add "$COORD/24" dev eth0
ip -n "$C" link set eth0 up
ip -n "$C" route add default via 10.77.0.1
for i in $(seq 0 $((NSITES - 1))); do
  S=$TAG-s$i
  newns "$S"
  ip -n "$R" link add "rs$i" type veth peer name eth0 netns "$S"
  ip -n "$R" addr add "10.77.$((i + 1)).1/24" dev "rs$i"
  ip -n "$R" link set "rs$i" up
  ip -n "$S" addr add "10.77.$((i + 1)).2/24" dev eth0
  ip -n "$S" link set eth0 up
  ip -n "$S" route add default via "10.77.$((i + 1)).1"
  if [ $NETEM = 0 ] && [ $CBPF = 1 ]; then
    for end in "$S eth0" "$R rs$i"; do
      set -- $end
      ip -n "$1" link add bh type ifb 2> /dev/null || true # one down ifb per namespace: the drop target
      ip netns exec "$1" tc qdisc add dev "$2" clsact
    done
  fi
done
echo "== namespaces: $C ($COORD), $R, $(for i in $(seq 0 $((NSITES - 1))); do printf '%s (10.77.%d.2) ' "$TAG-s$i" $((i + 1)); done)"

# Both ends of every site link: "namespace device".
site_link_ends() { for i in $(seq 0 $((NSITES - 1))); do echo "$TAG-s$i eth0"; echo "$R rs$i"; done; }

impair() { # on | off
  local ns dev threshold
  threshold=$(node -e "console.log(Math.min(2 ** 32 - 1, Math.round(${LOSS_PCT} / 100 * 2 ** 32)))")
  while read -r ns dev; do
    if [ $NETEM = 1 ]; then
      if [ "$1" = on ]; then ip netns exec "$ns" tc qdisc add dev "$dev" root netem delay "${DELAY_MS}ms" loss "${LOSS_PCT}%"
      else ip netns exec "$ns" tc qdisc del dev "$dev" root 2> /dev/null || true; fi
    elif [ $CBPF = 1 ]; then
      # ld rand; A >= threshold ? no match : match (-> redirect to the down ifb = dropped)
      if [ "$1" = on ]; then ip netns exec "$ns" tc filter add dev "$dev" egress bpf \
        bytecode "4,32 0 0 4294963256,53 0 1 $threshold,6 0 0 0,6 0 0 4294967295" action mirred egress redirect dev bh
      else ip netns exec "$ns" tc filter del dev "$dev" egress 2> /dev/null || true; fi
    fi
  done < <(site_link_ends)
}

# Packets dropped by the loss emulation so far (all site links).
dropped() {
  local ns dev total=0 n
  while read -r ns dev; do
    if [ $NETEM = 1 ]; then n=$(ip netns exec "$ns" tc -s qdisc show dev "$dev" | grep -o 'dropped [0-9]*' | head -1 | cut -d' ' -f2)
    else n=$(ip netns exec "$ns" tc -s filter show dev "$dev" egress | grep -A1 'Action statistics' | grep -o '[0-9]* pkt' | cut -d' ' -f1); fi
    total=$((total + ${n:-0}))
  done < <(site_link_ends)
  echo $total
}

# ---- one deployed run: serve in the coordinator's namespace, one join per site namespace ----
deploy() { # name mode: loopback (no namespaces, 127.0.0.1) | plain | impaired
  local out=$T/$1 listen=$COORD port=$PORT start serve relay=
  [ "$2" = loopback ] && { listen=127.0.0.1; port=0; } # port 0: a free one, the root namespace is shared
  mkdir -p "$out"
  start=$(date +%s.%N)
  local in=() # the command prefix that runs a process in a namespace (so that $! is its own pid)
  [ "$2" = loopback ] || in=(ip netns exec "$C")
  "${in[@]}" timeout $LIMIT node "$CLI" serve --kit "$T/kits/server" --strategy "$STRATEGY" \
    --rounds "$ROUNDS" "${TINY[@]}" --listen $listen --port $port --join-timeout 60 --round-timeout 60 --out "$out/run" \
    > "$out/coordinator.log" 2>&1 &
  serve=$!
  pids+=("$serve")
  await_line "$out/coordinator.log" 30 "listening on"
  local server=$listen:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out/coordinator.log" | head -1)
  if [ "$2" = impaired ] && [ $NETEM = 0 ]; then
    ip netns exec "$R" timeout $LIMIT node "$RELAY" "$VIP:$PORT" "$COORD:$PORT" "$DELAY_MS" $LIMIT > "$out/relay.log" 2>&1 &
    relay=$!
    pids+=("$relay")
    await_line "$out/relay.log" 10 "relay"
    server=$VIP:$PORT
  fi
  local joins=()
  for i in $(seq 0 $((NSITES - 1))); do
    [ "$2" = loopback ] || in=(ip netns exec "$TAG-s$i")
    "${in[@]}" timeout $LIMIT node "$CLI" join --kit "$T/kits/site-hospital$i" \
      --data "$DATA" --server "$server" --state "$out/state-hospital$i" --backend wasm > "$out/hospital$i.log" 2>&1 &
    joins+=($!)
    pids+=($!)
  done
  local rc=0
  wait "$serve" || rc=$?
  elapsed "$start" > "$out/wall"
  [ $rc = 0 ] || { echo "coordinator of $1 exited with $rc:" >&2; tail -30 "$out/coordinator.log" >&2; return 1; }
  local deadline=$((SECONDS + 20))
  for p in "${joins[@]}"; do
    while kill -0 "$p" 2> /dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -TERM "$p" 2> /dev/null || true
  done
  [ -z "$relay" ] || kill -TERM "$relay" 2> /dev/null || true
  grep -h "round 1: sent update" "$out/hospital0.log" | sed 's/^/   /'
}

for rep in $(seq "$REPEAT"); do
  echo "== repeat $rep/$REPEAT: harmofl train (simulation, no network, 2 workers)"
  mkdir -p "$T/train-$rep"
  start=$(date +%s.%N)
  timeout $LIMIT node "$CLI" train --data "$DATA" --strategy "$STRATEGY" --rounds "$ROUNDS" --workers 2 "${TINY[@]}" \
    --out "$T/train-$rep/run" > "$T/train-$rep/train.log" 2>&1 || { tail -30 "$T/train-$rep/train.log" >&2; exit 1; }
  elapsed "$start" > "$T/train-$rep/wall"
  echo "== repeat $rep/$REPEAT: deployed, one namespace, 127.0.0.1"
  deploy "loopback-$rep" loopback
  echo "== repeat $rep/$REPEAT: deployed, namespaces, no impairment"
  deploy "plain-$rep" plain
  echo "== repeat $rep/$REPEAT: deployed, namespaces, +${DELAY_MS} ms each way, ${LOSS_PCT}% loss each way"
  impair on
  deploy "impaired-$rep" impaired
  echo "   packets dropped by the loss emulation during the run: $(dropped)"
  impair off
done

# ---- the table ----
echo
echo "== per-round wall time at the coordinator (train + evaluate round trips; median of $REPEAT), $STRATEGY, $NSITES sites, tiny densenet, TLS on"
node - "$T" "$REPEAT" "$DELAY_MS" "$LOSS_PCT" "$([ $NETEM = 1 ] && echo netem || echo relay+cBPF)" << 'EOF'
const fs = require('node:fs');
const [dir, repeat, delay, loss, how] = process.argv.slice(2);
const read = (name) => fs.readFileSync(`${dir}/${name}/run/metrics.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const strip = (rows) => JSON.stringify(rows, (k, v) => (k === 'seconds' || k === 'elapsedSeconds' ? undefined : v));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const reps = Array.from({ length: +repeat }, (_, i) => i + 1);
const train = strip(read('train-1'));
const rows = [
  ['harmofl train (simulation)', 'train'],
  ['serve+join, loopback, no namespaces', 'loopback'],
  ['serve+join, netns, no impairment', 'plain'],
  [`serve+join, netns, +${delay} ms/${loss}% (${how})`, 'impaired'],
];
const rounds = read('train-1').length;
const head = ['run', ...Array.from({ length: rounds }, (_, i) => `round ${i + 1} (ms)`), `${rounds} rounds (s)`, 'process (s)', 'metrics = train'];
const table = rows.map(([label, name]) => {
  const runs = reps.map((r) => read(`${name}-${r}`));
  const walls = reps.map((r) => Number(fs.readFileSync(`${dir}/${name}-${r}/wall`, 'utf8')));
  const perRound = Array.from({ length: rounds }, (_, i) => median(runs.map((m) => m[i].seconds)));
  const total = median(runs.map((m) => m.reduce((a, r) => a + r.seconds, 0)));
  const same = runs.every((m) => strip(m) === train);
  return [label, ...perRound.map((s) => (s * 1000).toFixed(0)), total.toFixed(2), median(walls).toFixed(1), same ? 'yes' : 'NO'];
});
const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (r) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
console.log(line(head));
console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of table) console.log(line(r));
console.log('process: start to exit of train / serve (serve: includes the sites starting up and its wait of up to 5 s for them to disconnect)');
EOF
