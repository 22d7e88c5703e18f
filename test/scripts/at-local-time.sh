#!/usr/bin/env bash
# Runs a command with every process's wall clock moved back to the last HH:MM
# in a time zone (default Asia/Shanghai, the gateway's), clocks still running:
#   test/scripts/at-local-time.sh 03:00 npm test
# libfaketime shifts by a fixed offset, so child processes (gateways, vitest
# workers, Chromium) agree with each other; monotonic clocks are left alone.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 HH:MM command [args...]   (CAREBELL_TEST_TZ sets the zone, default Asia/Shanghai)" >&2
  exit 2
fi
hhmm=$1
shift
zone=${CAREBELL_TEST_TZ:-Asia/Shanghai}
lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1 || true)
if [ -z "$lib" ]; then
  echo "libfaketime is not installed (Debian: apt-get install faketime)" >&2
  exit 2
fi
now=$(date +%s)
target=$(TZ=$zone date -d "$(TZ=$zone date +%F) $hhmm" +%s)
# Always back to the last such time, never ahead: Playwright's page clock can only
# make up for a moved clock that lags the real one (see test/helpers/browser.ts).
[ "$target" -gt "$now" ] && target=$((target - 86400))
offset=$((target - now))
echo "== clock moved by ${offset} s: $(TZ=$zone date -d "@$target" '+%F %H:%M %Z') in $zone" >&2
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" FAKETIME="${offset}" FAKETIME_DONT_FAKE_MONOTONIC=1
[ "$offset" -ge 0 ] && export FAKETIME="+${offset}"
exec "$@"
