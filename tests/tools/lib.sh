# Helpers for tool tests: each check prints "PASS name" or "FAIL name: why".
# Tests run the real binaries in bin/ on tiny data in a fresh temp dir ($T).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/bin
T=$(mktemp -d /tmp/ddtest.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi; }
# expect_err NAME CODE PATTERN cmd...: exit code CODE, exactly one line on stderr matching PATTERN.
expect_err() {
    local name=$1 code=$2 pat=$3; shift 3
    "$@" >"$T/.stdout" 2>"$T/.stderr"
    local rc=$? lines
    lines=$(wc -l <"$T/.stderr")
    if [ "$rc" -ne "$code" ]; then fail "$name" "exit $rc, expected $code; stderr: $(head -c 300 "$T/.stderr")"
    elif [ "$lines" -ne 1 ]; then fail "$name" "expected one line on stderr, got $lines: $(head -c 300 "$T/.stderr")"
    elif ! grep -qE -- "$pat" "$T/.stderr"; then fail "$name" "stderr does not match /$pat/: $(cat "$T/.stderr")"
    else pass "$name"; fi
}
# Stopping a run at a known point without racing it (docs/operations.md, control/hold):
# hold_at DIR [STEP]: the run in DIR waits at its first pause check once its progress reaches STEP;
# wait_held DIR PID: returns when the run says it waits (control/hold_ack.json), 1 if PID ended first;
# release DIR: the run goes on.
hold_at() { mkdir -p "$1/control" && echo "${2:-0}" >"$1/control/hold"; }
wait_held() {
    local i
    for i in $(seq 1 12000); do
        [ -e "$1/control/hold_ack.json" ] && return 0
        kill -0 "$2" 2>/dev/null || { [ -e "$1/control/hold_ack.json" ]; return; }
        sleep 0.05
    done
    return 1
}
release() { rm -f "$1/control/hold"; }
# poison_bin SRC DST INDEX: a copy of token bin SRC whose token INDEX is the header's
# vocab size, one past the largest valid id (header and length stay valid).
poison_bin() {
    python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
n, vocab, bpt = struct.unpack_from('<3i', b, 8)
i = int(sys.argv[3]); assert i < n
struct.pack_into('<H' if bpt == 2 else '<I', b, 1024 + i * bpt, vocab)
open(sys.argv[2], 'wb').write(b)
PY
}
