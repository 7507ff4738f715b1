#!/usr/bin/env bash
# A deployed federation on this machine: one coordinator and one process per demo site, all on
# 127.0.0.1 with mutual TLS. Every process it starts is stopped by its pid when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="node dist/src/cli/main.js"
DATA=${DATA:-data/synthetic}
OUT=${OUT:-runs/demo-deploy}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18443}
# The demo federation's sites (harmofl synth writes four).
SITES=${SITES:-hospital0,hospital1,hospital2,hospital3}

[ -d "$DATA/camelyon17" ] || $CLI synth --out "$DATA"
rm -rf "$OUT" && mkdir -p "$OUT"
$CLI provision --federation demo --server "127.0.0.1:$PORT" --sites "$SITES" --out "$OUT/kits"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

$CLI serve --kit "$OUT/kits/server" --strategy harmofl --rounds "$ROUNDS" --model densenet --batch 16 --lr 0.01 \
  --round-timeout 600 --out "$OUT/run" 2> >(tee "$OUT/coordinator.log" >&2) &
serve=$!
pids+=("$serve")
for site in ${SITES//,/ }; do
  $CLI join --kit "$OUT/kits/site-$site" --data "$DATA/camelyon17" > "$OUT/$site.log" 2>&1 &
  pids+=("$!")
done
wait "$serve"
echo "site logs: $OUT/hospital*.log; results: $OUT/run"
grep -h "sent update" "$OUT"/hospital0.log | head -1
