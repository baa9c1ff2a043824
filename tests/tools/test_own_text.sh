# Your own text (docs/operations.md): `corpus: {train, val}` in a config replaces the
# synthetic corpus end to end on a small real text (this repository's docs and README):
# copied in with its hash in provenance, tokenizer, bins, both pretrain runs and the
# pretraining figure made from it; phase-F says the suite was skipped, phase-C refuses,
# make check asks for phases A and B only. Files placed by hand in data/raw/ before the
# first `make` of a synthetic config are never overwritten or mixed.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p "$T/text" "$T/cfg"
cat docs/*.md >"$T/text/train.txt"
cp README.md "$T/text/val.txt"
{ cat configs/ci.yaml; printf '\ncorpus:\n  train: %s\n  val: %s\n' "$T/text/train.txt" "$T/text/val.txt"; } >"$T/cfg/ci.yaml"
M="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/out"
D=$T/out/ci/data
$M phase-F >"$T/f1" 2>&1; rc=$?
[ $rc -eq 0 ] && cmp -s "$T/text/train.txt" "$D/raw/train.txt" && cmp -s "$T/text/val.txt" "$D/raw/val.txt" \
  && pass own_text_copied || fail own_text_copied "rc=$rc $(tail -3 "$T/f1")"
h=$(sha256sum "$T/text/train.txt" | cut -c1-64)
grep -q "$h" "$D/raw/_runs/train.txt/provenance.json" 2>/dev/null && pass own_text_hash_in_provenance \
  || fail own_text_hash_in_provenance "$(head -c 300 "$D/raw/_runs/train.txt/provenance.json" 2>/dev/null)"
! grep -q "bin/gen-corpus\|bin/gen-tasks\|bin/ttt" "$T/f1" && [ -s "$D/packed/train.bin" ] \
  && grep -q '"status": *"completed"' "$T/out/ci/runs/pretrain_base/run_record.json" \
  && grep -q '"status": *"completed"' "$T/out/ci/runs/pretrain_nomhc/run_record.json" \
  && [ -s "$T/out/ci/paper/figs/fig_pretrain_loss.png" ] && [ ! -e "$T/out/ci/runs/suite" ] \
  && pass own_text_phases_a_b_f || fail own_text_phases_a_b_f "$(grep '^bin/' "$T/f1" | cut -c1-50)"
grep -q "the discovery suite, SDFT and retention (C-E) were skipped" "$T/f1" && pass own_text_says_suite_skipped \
  || fail own_text_says_suite_skipped "$(tail -2 "$T/f1")"
out=$($M phase-C 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "phase-C: refused: the discovery suite needs the synthetic task language" \
  && pass own_text_phase_c_refused || fail own_text_phase_c_refused "rc=$rc $out"
$M check >"$T/c1" 2>&1 && grep -q " 0 missing" "$T/c1" && ! grep -q "runs/suite" "$T/c1" && pass own_text_check_a_b \
  || fail own_text_check_a_b "$(tail -2 "$T/c1")"
$M phase-F >"$T/f2" 2>&1 && ! grep -q "^bin/" "$T/f2" && pass own_text_second_run_runs_nothing \
  || fail own_text_second_run_runs_nothing "$(grep '^bin/' "$T/f2" | cut -c1-60)"
# Half a corpus key is refused before any work, naming it.
{ cat configs/ci.yaml; printf '\ncorpus:\n  train: %s\n' "$T/text/train.txt"; } >"$T/cfg/half.yaml"
expect_err own_text_needs_both 2 "half.yaml: corpus.val: not set" \
    $BIN/gen-corpus --config "$T/cfg/half.yaml" --train_out "$T/x/train.txt" --val_out "$T/x/val.txt"

# Hand-placed files in data/raw/ of a synthetic config: refused, untouched, nothing built on them.
mkdir -p "$T/hand/ci/data/raw"
cp "$T/text/train.txt" "$T/text/val.txt" "$T/hand/ci/data/raw/"
out=$(make --no-print-directory -k CONFIG=configs/ci.yaml OUT_ROOT="$T/hand" phase-A 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "train.txt: already there, and no run wrote it (placed by hand?): it is never overwritten" \
  && cmp -s "$T/text/train.txt" "$T/hand/ci/data/raw/train.txt" && cmp -s "$T/text/val.txt" "$T/hand/ci/data/raw/val.txt" \
  && [ ! -e "$T/hand/ci/data/tokenizer" ] && [ ! -e "$T/hand/ci/data/packed" ] \
  && pass hand_placed_never_overwritten || fail hand_placed_never_overwritten "rc=$rc $(echo "$out" | grep -v '^make' | tail -3)"
# Malformed own text: an empty file and one with a NUL byte are refused, naming the file; nothing is written.
: >"$T/text/empty.txt"
printf 'ab\0cd\n' >"$T/text/nul.txt"
expect_err own_text_empty_refused 2 "empty.txt: empty: nothing to train on" \
    $BIN/import-corpus --train "$T/text/train.txt" --val "$T/text/empty.txt" --train_out "$T/bad/train.txt" --val_out "$T/bad/val.txt"
expect_err own_text_nul_refused 2 "nul.txt:3: a NUL byte: not text" \
    $BIN/import-corpus --train "$T/text/nul.txt" --val "$T/text/val.txt" --train_out "$T/bad2/train.txt" --val_out "$T/bad2/val.txt"
[ ! -e "$T/bad/train.txt" ] && [ ! -e "$T/bad2/train.txt" ] && pass own_text_malformed_writes_nothing || fail own_text_malformed_writes_nothing "$(ls "$T/bad2")"
