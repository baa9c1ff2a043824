# plot (F1) on the real ci pipeline outputs: every figure is a valid, non-blank PNG of
# its size, the run record completes; a runs dir with only some runs skips the other
# figures (exit 0, warnings); malformed inputs are bad input (exit 2, one line, the file named).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-E >"$T/e" 2>&1 || { fail phase_e_for_plot "$(tail -3 "$T/e")"; exit 1; }
R=$T/out/ci/runs

# check_pngs DIR NAME:WxH...: each file a PNG of that size whose pixels are not all one colour.
check_pngs() {
    python3 - "$@" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
for spec in sys.argv[2:]:
    name, size = spec.split(":")
    w, h = map(int, size.split("x"))
    b = open(f"{d}/{name}", "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: not a PNG"
    assert b[12:16] == b"IHDR", f"{name}: no IHDR"
    W, H, depth, ctype = struct.unpack(">IIBB", b[16:26])
    assert (W, H, depth, ctype) == (w, h, 8, 2), f"{name}: {W}x{H} depth {depth} type {ctype}, expected {w}x{h} 8-bit RGB"
    idat, i = b"", 8
    while i < len(b):
        n, = struct.unpack(">I", b[i:i + 4]); t = b[i + 4:i + 8]
        if t == b"IDAT": idat += b[i + 8:i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(idat)
    assert len(raw) == H * (1 + 3 * W), f"{name}: {len(raw)} bytes of pixel data"
    rows = [raw[r * (1 + 3 * W) + 1:(r + 1) * (1 + 3 * W)] for r in range(H)]
    # Filtered rows: count rows that are not constant after filtering as a cheap "not blank".
    assert sum(len(set(r)) > 2 for r in rows) > H // 10, f"{name}: looks blank"
PY
}

FIGS="fig_pipeline.png:1600x480 fig_reward_vs_samples.png:1200x750 fig_ablations.png:1200x750 fig_paired_differences.png:1600x900 fig_pretrain_loss.png:1200x950 fig_sdft.png:1200x950 fig_retention.png:900x700"
$BIN/plot --runs_dir "$R" --fig_dir "$T/paper/figs" >"$T/p1" 2>&1 && pass plot_runs || { fail plot_runs "$(tail -3 "$T/p1")"; exit 1; }
check_pngs "$T/paper/figs" $FIGS >"$T/c1" 2>&1 && pass plot_seven_pngs || fail plot_seven_pngs "$(tail -2 "$T/c1")"
grep -q warning "$T/p1" && fail plot_no_warnings_on_full_run "$(grep warning "$T/p1" | head -2)" || pass plot_no_warnings_on_full_run
grep -q '"completed"' "$T/paper/figs/_runs/plot/run_record.json" 2>/dev/null && pass plot_run_dir || fail plot_run_dir "no completed run record"
[ -f "$T/paper/tables/table_main_results.tex" ] && [ -f "$T/paper/results_registry.md" ] && pass plot_writes_tables \
  || fail plot_writes_tables "no tables/table_main_results.tex or results_registry.md under $T/paper"
# What a killed plot leaves beside its outputs (outside its run dir) goes when it runs again.
touch "$T/paper/figs/fig_ablations.png.tmp.4242" "$T/paper/tables/table_comparisons.tex.tmp.4243" "$T/paper/figs/other.png.tmp.4244"
rm -f "$T/paper/figs/_runs/plot/run_record.json"
$BIN/plot --runs_dir "$R" --fig_dir "$T/paper/figs" >"$T/p1b" 2>&1
[ ! -e "$T/paper/figs/fig_ablations.png.tmp.4242" ] && [ ! -e "$T/paper/tables/table_comparisons.tex.tmp.4243" ] \
  && [ -e "$T/paper/figs/other.png.tmp.4244" ] && pass plot_clears_killed_temps || fail plot_clears_killed_temps "$(ls "$T/paper/figs" "$T/paper/tables")"
rm -f "$T/paper/figs/other.png.tmp.4244"

# Only two suite runs: the other figures are skipped with a warning, exit 0.
mkdir -p "$T/part/suite"
cp -r "$R/suite/base_bestofn_seed0" "$R/suite/ttt_main_seed0" "$T/part/suite/"
$BIN/plot --runs_dir "$T/part" --fig_dir "$T/part_figs/figs" >"$T/p2" 2>&1 && pass plot_partial_exit0 || fail plot_partial_exit0 "$(tail -3 "$T/p2")"
check_pngs "$T/part_figs/figs" fig_pipeline.png:1600x480 fig_reward_vs_samples.png:1200x750 fig_ablations.png:1200x750 \
    fig_paired_differences.png:1600x900 >"$T/c2" 2>&1 \
  && [ ! -e "$T/part_figs/figs/fig_sdft.png" ] && [ ! -e "$T/part_figs/figs/fig_retention.png" ] && [ ! -e "$T/part_figs/figs/fig_pretrain_loss.png" ] \
  && pass plot_partial_figures || fail plot_partial_figures "$(tail -2 "$T/c2"; ls "$T/part_figs/figs")"
grep -q "warning: skipping fig_retention: " "$T/p2" && grep -q "warning: skipping fig_sdft: " "$T/p2" \
  && pass plot_partial_warns || fail plot_partial_warns "$(cat "$T/p2")"
# The report still compiles, with the figures that were drawn and none of the others.
L=$T/part_figs/figs/_runs/plot/logs/latex/report.log
[ -s "$T/part_figs/report.pdf" ] && ! grep -q '^!' "$L" && [ "$(grep -c '^File: figs/.* Graphic file' "$L")" -eq 4 ] \
  && ! grep -q 'fig_sdft' "$T/part_figs/report.tex" && pass plot_partial_report_pdf \
  || fail plot_partial_report_pdf "$(grep -A2 '^!' "$L" | head -3; grep -c 'Graphic file' "$L")"
# A LaTeX compiler that is not there is a bad setting: exit 2, one line naming it.
expect_err plot_pdflatex_missing 2 "/nonexistent/pdflatex: not found" $BIN/plot --runs_dir "$T/part" --fig_dir "$T/part_nolatex/figs" \
    --pdflatex /nonexistent/pdflatex

# Malformed inputs: exit 2, one line naming the file.
cp -r "$T/part" "$T/bad1"
echo '{"task_id": "x", "best_reward": ' >>"$T/bad1/suite/ttt_main_seed0/summary.jsonl"
expect_err plot_bad_summary 2 "ttt_main_seed0/summary.jsonl:[0-9]+" $BIN/plot --runs_dir "$T/bad1" --fig_dir "$T/bad1_figs"
cp -r "$T/part" "$T/bad2"
task=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['task_id'])" "$T/bad2/suite/base_bestofn_seed0/summary.jsonl")
python3 - "$T/bad2/suite/base_bestofn_seed0/$task/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["curve"] = [[1, "high"]]; json.dump(r, open(sys.argv[1], "w"))
PY
expect_err plot_bad_curve 2 "$task/result.json: curve\[0\]" $BIN/plot --runs_dir "$T/bad2" --fig_dir "$T/bad2_figs"
cp -r "$T/part" "$T/bad3"
sed -i '1s/"best_reward":[^,]*,/"best_reward":"lots",/' "$T/bad3/suite/base_bestofn_seed0/summary.jsonl"
expect_err plot_bad_best_reward 2 "summary.jsonl:1: 'best_reward'" $BIN/plot --runs_dir "$T/bad3" --fig_dir "$T/bad3_figs"
expect_err plot_no_runs_dir 2 "not a directory" $BIN/plot --runs_dir "$T/nowhere" --fig_dir "$T/nf"
expect_err plot_bad_font 2 "nofont.ttf" $BIN/plot --runs_dir "$T/part" --fig_dir "$T/nf2" --font "$T/nofont.ttf"

# The figures and the tables read the runs through one reader (lib/paper/runs): an SDFT best-of-N
# suite under another name (the config's pipeline.sdft_bestofn_run) is drawn and tabulated
# alike, and a torn last summary line (a killed writer's) is skipped by both rather than
# refused by one.
cp -r "$T/part" "$T/same"
cp -r "$R/suite/sdft_bestofn_seed0" "$T/same/suite/sdft_v2_bestofn_seed0"
# hand-made: no run records (a run's own files are refused when changed after it finished)
(cd "$T/same/suite/sdft_v2_bestofn_seed0" && rm -rf _run_tracker control logs ./*.json ./*.yaml)
printf '{"task_id": "torn", "best_re' >>"$T/same/suite/sdft_v2_bestofn_seed0/summary.jsonl"
printf 'pipeline:\n  sdft_bestofn_run: sdft_v2_bestofn\n  seeds: [0, 3]\n' >"$T/same.yaml"
$BIN/plot --config "$T/same.yaml" --runs_dir "$T/same" --fig_dir "$T/same_paper/figs" >"$T/p3" 2>&1 && pass plot_torn_last_line_skipped \
  || fail plot_torn_last_line_skipped "$(tail -3 "$T/p3")"
grep -q 'suite/sdft_v2_bestofn_seed0/summary.jsonl' "$T/same_paper/figs/_runs/plot/provenance.json" 2>/dev/null \
  && grep -q 'sdft\\_v2\\_bestofn' "$T/same_paper/tables/table_main_results.tex" 2>/dev/null \
  && pass plot_figures_and_tables_read_same_sdft_runs \
  || fail plot_figures_and_tables_read_same_sdft_runs "$(grep -o 'suite/sdft[^"]*' "$T/same_paper/figs/_runs/plot/provenance.json" | head -3)"
# Seeds are the config's: seed 3 is listed and missing, so its cells are "--" and the registry says so.
grep -q '\\newcommand{\\TTTMainSeedThree}{--}' "$T/same_paper/results_macros.tex" && grep -q "missing run: ttt_main_seed3" "$T/same_paper/results_registry.md" \
  && pass plot_seeds_from_config || fail plot_seeds_from_config "$(grep -c SeedThree "$T/same_paper/results_macros.tex")"
printf 'pipeline:\n  primary: {x: ttt_main, y: ttt_main}\n' >"$T/badp.yaml"
expect_err plot_bad_primary 2 "badp.yaml: pipeline.primary: x and y are both ttt_main" $BIN/plot --config "$T/badp.yaml" --runs_dir "$T/part" --fig_dir "$T/nf3"
