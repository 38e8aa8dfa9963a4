#!/usr/bin/env bash
# How long `watchword status` (the same queries as each /metrics scrape and STATUS refresh)
# takes on a database with a year of alerts. Usage, from the repository root:
#
#     bash benches/status_at_scale.sh [ALERTS]      # default 500000
#
# Builds the release binary, creates the schema with one `once` over the offline demo, adds
# ALERTS alerts (1% pending, 1% dead, the rest delivered) and 5000 feeds (2% failing) with
# python3's sqlite3, then times `watchword status` five times.
set -euo pipefail
cd "$(dirname "$0")/.."
alerts=${1:-500000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bin=${WATCHWORD_BIN:-target/release/watchword}
[ -n "${WATCHWORD_BIN:-}" ] || cargo build --release --quiet
sed "s#^database = .*#database = \"$dir/bench.db\"#; s#file://demo/#file://$PWD/config/demo/#" \
  config/demo.toml > "$dir/bench.toml"
"$bin" --config "$dir/bench.toml" once >/dev/null 2>&1
python3 - "$dir/bench.db" "$alerts" <<'PY'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
now = int(time.time())
c.executemany("INSERT INTO feeds (name, url, last_fetch_at, last_success_at, last_error, consecutive_failures) VALUES (?,?,?,?,?,?)",
    ((f"feed-{i}", f"https://f{i}.example.org/rss", now - 60, now - 60 if i % 50 else now - 86400,
      None if i % 50 else "HTTP 503", 0 if i % 50 else 3) for i in range(5000)))
c.executemany("INSERT INTO alerts (id, rule, feed, item_id, title, link, payload, created_at) VALUES (?,?,?,?,?,?,?,?)",
    ((f"ww_{i:032x}", f"rule-{i % 40}", f"feed-{i % 5000}", f"item-{i}", "A title", None, "{}", now - (n - i) * 60) for i in range(n)))
c.executemany("INSERT INTO deliveries (alert_id, sink, state, attempts, next_attempt_at) VALUES (?,?,?,?,?)",
    ((f"ww_{i:032x}", "hook", "pending" if i % 100 == 0 else "dead" if i % 100 == 1 else "delivered", 1, now) for i in range(n)))
c.commit()
PY
for _ in 1 2 3 4 5; do
  start=$(date +%s%N)
  "$bin" --config "$dir/bench.toml" status >/dev/null
  echo "watchword status over $alerts alerts: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
