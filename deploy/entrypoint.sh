#!/bin/sh
# Container entry point: `cesc` (default), `vec`, `decode` or `demo`, then that command's flags.
set -e
cmd="${1:-cesc}"
[ $# -gt 0 ] && shift
case "$cmd" in
  cesc)
    # Defaults for the container: database and logs on volumes, no backend unless told.
    exec /opt/canvss/bin/cesc --host 0.0.0.0 --db /data/ovdsCESC.db --log-dir /logs "$@" ;;
  vec)
    exec /opt/canvss/bin/vec --state /data/vec-state "$@" ;;
  decode|demo)
    exec "/opt/canvss/bin/$cmd" "$@" ;;
  -h|--help|help)
    echo "usage: canvss [cesc|vec|decode|demo] [flags…]   (each command has --help)"; exit 0 ;;
  *)
    echo "canvss: unknown command \"$cmd\" (use cesc, vec, decode or demo)" >&2; exit 2 ;;
esac
