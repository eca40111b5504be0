#!/usr/bin/env bash
# `make ui`: Dagster's web UI (webserver + daemon, i.e. `dagster dev`) over the demo warehouse,
# in the foreground; Ctrl-C stops it cleanly.
#
#   scripts/ui.sh                      http://127.0.0.1:3000
#   ALTOR_UI_PORT=3001 scripts/ui.sh   another port (ALTOR_UI_HOST for another address)
#
# The UI only reads the warehouse: schedules and the automation sensor start stopped, so
# nothing writes until a person launches a run (or turns automation on).
# State: DAGSTER_HOME (default data/dagster_home, created from deploy/dagster.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="$ROOT/.venv/bin/python"

export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/data/dagster_home}"
export RUNTIME__DLTHUB_TELEMETRY=false
# The demo servers' fixed tokens (nobody's secrets, docs/demo-servers.md) unless the caller set
# real ones: the settings have no token defaults, so a run launched from the UI against the
# demo servers must be given them.
eval "$("$PY" - <<'EOF'
import os, shlex

from altor_sim.servers import TOKENS

names = {"zendesk": "ZENDESK_TOKEN", "stripe": "STRIPE_API_KEY", "linear": "LINEAR_API_KEY",
         "github": "GITHUB_TOKEN"}
for vendor, name in names.items():
    if not os.environ.get(name):
        print(f"export {name}={shlex.quote(TOKENS[vendor])}")
EOF
)"
# The demo's settings (altor_sim/environment.py) unless the caller set them: the
# same paths `altor demo run` writes, and the world's clock, go-live and ids, so a run
# launched from the UI sees what the demo saw.
export ALTOR_DATA_DIR="${ALTOR_DATA_DIR:-$ROOT/data}"
export ALTOR_MODELS_DIR="${ALTOR_MODELS_DIR:-$ALTOR_DATA_DIR/models}"
export ALTOR_REPORTS_DIR="${ALTOR_REPORTS_DIR:-$ALTOR_DATA_DIR/reports}"
WORLD="${ALTOR_DEMO_WORLD:-$ALTOR_DATA_DIR/worlds/demo}"
eval "$("$PY" - "$WORLD" <<'EOF'
import json, os, shlex, sys
from pathlib import Path

from altor_sim.run import ensure_dagster_home

ensure_dagster_home()  # copies deploy/dagster.yaml into DAGSTER_HOME if it is missing
world = Path(sys.argv[1]) / "world.json"
if world.exists():
    meta = json.loads(world.read_text())
    values = {"ALTOR_AS_OF": meta.get("end"), "ALTOR_GO_LIVE": meta.get("go_live"),
              "ALTOR_SYNC_START": meta.get("start"),
              "ZENDESK_ROOT_CAUSE_FIELD_ID": meta.get("root_cause_field_id"),
              "GITHUB_REPO": meta.get("repo"), "LINEAR_WORKSPACE": meta.get("linear_workspace")}
    for key, value in values.items():
        if value not in (None, "") and not os.environ.get(key):
            print(f"export {key}={shlex.quote(str(value))}")
EOF
)"

HOST="${ALTOR_UI_HOST:-127.0.0.1}"
PORT="${ALTOR_UI_PORT:-3000}"
echo "Dagster UI on http://$HOST:$PORT (DAGSTER_HOME=$DAGSTER_HOME, warehouse in $ALTOR_DATA_DIR); Ctrl-C stops it." >&2

# `dagster dev` alone does not stop its webserver, daemon and code servers on SIGTERM or
# SIGINT (they were seen alive 30 s later), so this script supervises it: dagster dev runs in
# a session of its own (the terminal's Ctrl-C reaches only this script), and on Ctrl-C or
# SIGTERM every process of its tree, as it stands at that moment, gets SIGTERM, then SIGKILL
# after a few seconds.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
alive() {
  local pid out=""
  for pid in "$@"; do
    kill -0 "$pid" 2>/dev/null && out="$out $pid"
  done
  echo "$out"
}
DEV=""
stop() {
  trap - INT TERM
  [ -n "$DEV" ] || exit 130
  local tree left i
  tree="$DEV $(descendants "$DEV" | tr '\n' ' ')"
  echo "stopping the Dagster UI (processes:$(echo " $tree" | tr -s ' '))" >&2
  kill -TERM $tree 2>/dev/null || true
  for i in $(seq 1 50); do  # 5 s for a clean shutdown
    left="$(alive $tree)"
    [ -z "$left" ] && break
    sleep 0.1
  done
  left="$(alive $tree)"
  if [ -n "$left" ]; then
    echo "killing what did not stop in 5 s:$left" >&2
    kill -KILL $left 2>/dev/null || true
  fi
  wait "$DEV" 2>/dev/null || true
  exit 130
}
trap stop INT TERM
setsid "$ROOT/.venv/bin/dagster" dev -m altor_pipelines.definitions -h "$HOST" -p "$PORT" "$@" &
DEV=$!
wait "$DEV"
