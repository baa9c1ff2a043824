# lib/ is layered by folder (docs/architecture.md): each folder includes only its own
# headers and those of the folders below it, no module includes itself back through
# another (no include cycles), nothing in lib/ reaches into tools/, and every module
# header says what it owns and what it does not. Reads the #include lines of the real
# sources; a new include that breaks a rule fails here, naming the file and line.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
/usr/bin/python3 - >"$T/layers" 2>&1 <<'PY'
import glob, os, re, sys
ALLOWED = {   # folder: the folders (besides itself) whose headers it may include
    "base": set(),
    "run": {"base"},
    "data": {"base"},
    "nn": {"base", "run", "data", "kernels"},
    "algo": {"base", "run", "data", "nn", "kernels"},
    "paper": {"base", "run"},
    "sweep": {"base", "run"},
    "cli": {"base", "run", "data", "nn", "algo", "paper", "sweep", "kernels"},
}
where = {}   # header name -> folder
for h in glob.glob("lib/*/*.h"):
    where[os.path.basename(h)] = h.split("/")[1]
for h in glob.glob("kernels/*.h"):
    where[os.path.basename(h)] = "kernels"
bad, edges = [], {}
folders = sorted({p.split("/")[1] for p in glob.glob("lib/*/")})
for d in folders:
    if d not in ALLOWED:
        bad.append(f"lib/{d}/: a folder docs/architecture.md and this test do not place in a layer")
for f in sorted(glob.glob("lib/*/*.[ch]")):
    d, mod = f.split("/")[1], os.path.splitext(os.path.basename(f))[0]
    for n, line in enumerate(open(f, encoding="utf-8"), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        inc = m.group(1)
        if "tools/" in inc or inc.startswith(".."):
            bad.append(f"{f}:{n}: includes {inc}: lib/ does not reach into tools/ or around the include path")
            continue
        to = where.get(os.path.basename(inc))
        if to is None:
            bad.append(f"{f}:{n}: includes {inc}, which is in no lib/ folder or kernels/")
            continue
        if to != d and to not in ALLOWED.get(d, set()):
            bad.append(f"{f}:{n}: lib/{d} includes {inc} from {to}/: not a layer below it")
        tm = os.path.splitext(os.path.basename(inc))[0]
        if to != "kernels" and tm != mod:
            edges.setdefault(mod, set()).add(tm)
# cycles between modules (a .c and its .h are one module)
state = {}
def visit(u, path):
    state[u] = 1
    for v in sorted(edges.get(u, ())):
        if state.get(v) == 1:
            bad.append("include cycle: " + " -> ".join(path[path.index(v):] + [v]) if v in path else f"include cycle through {v}")
        elif not state.get(v):
            visit(v, path + [v])
    state[u] = 2
for u in sorted(edges):
    if not state.get(u):
        visit(u, [u])
for h in sorted(glob.glob("lib/*/*.h")):
    head = open(h, encoding="utf-8").read(4000)
    if "Owns:" not in head or "Does not own" not in head:
        bad.append(f"{h}: its header comment lacks 'Owns:' or 'Does not own'")
print(f"{len(glob.glob('lib/*/*.[ch]'))} files in {len(folders)} folders, {sum(len(v) for v in edges.values())} module includes")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
rc=$?
[ $rc -eq 0 ] && pass "lib_layers ($(head -1 "$T/layers"))" || fail lib_layers "$(cat "$T/layers")"
