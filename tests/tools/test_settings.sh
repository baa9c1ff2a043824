# Make reruns exactly what changed (configs/ci.yaml, its own output root): a typo in any
# section is caught by the first tool, before any work; editing pretrain.steps reruns
# nothing in phase A and is refused by pretrain, naming the change, until FORCE=1, which
# redoes the changed runs only (old ones to .trash/, a discard event); a changed --lr on a
# completed ttt run is refused; best-of-N, which does not read lr, has nothing to do.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p "$T/cfg"
cp configs/ci.yaml "$T/cfg/ci.yaml"
M="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/out"
R=$T/out/ci/runs

# A typo in another tool's section: gen-corpus (the first tool) refuses it, naming file:line:column.
sed 's/^  steps: 20$/  steps: banana/' configs/ci.yaml >"$T/cfg/typo.yaml"
line=$(grep -n "steps: banana" "$T/cfg/typo.yaml" | cut -d: -f1)
expect_err typo_caught_by_first_tool 2 "typo.yaml:$line:10: pretrain.steps: expected an integer, got 'banana'" \
    $BIN/gen-corpus --config "$T/cfg/typo.yaml" --train_out "$T/t/train.txt" --val_out "$T/t/val.txt"
[ ! -e "$T/t/train.txt" ] && pass typo_no_work || fail typo_no_work "gen-corpus wrote $T/t/train.txt"
expect_err typo_caught_by_ttt 2 "pretrain.steps: expected an integer" \
    $BIN/ttt --config "$T/cfg/typo.yaml" --tasks x --ckpt y --tokenizer z --out_root "$T/t/suite"
printf 'sdft:\n  gates: [{metric: val_ppl_rel_delta}]\n' >"$T/cfg/gate.yaml"   # a gate without its green threshold
expect_err bad_gate_caught_by_first_tool 2 "gate.yaml: sdft.gates: gates\[0\]: needs metric and green" \
    $BIN/gen-corpus --config "$T/cfg/gate.yaml" --train_out "$T/t/train.txt" --val_out "$T/t/val.txt"
out=$(make --no-print-directory CONFIG="$T/cfg/typo.yaml" OUT_ROOT="$T/out_typo" phase-F 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "pretrain.steps: expected an integer" && [ ! -e "$T/out_typo/typo/data" ] \
  && pass typo_make_refuses_before_phase_a || fail typo_make_refuses_before_phase_a "rc=$rc $(echo "$out" | tail -2)"

$M phase-F >"$T/m1" 2>&1 || { fail phase_f "$(tail -3 "$T/m1")"; exit 1; }

# pretrain.steps: only the runs that read the pretrain section (and what depends on them).
sed -i 's/^  steps: 20$/  steps: 24/' "$T/cfg/ci.yaml"
$M phase-F >"$T/m2" 2>&1; rc=$?
! grep -q "bin/gen-corpus\|bin/train-tokenizer\|bin/pack-bins\|bin/gen-tasks" "$T/m2" && pass pretrain_edit_reruns_nothing_in_phase_a \
  || fail pretrain_edit_reruns_nothing_in_phase_a "$(grep '^bin/' "$T/m2" | cut -c1-60)"
[ $rc -ne 0 ] && grep -q "pretrain_base: completed with steps 20; now 24 — FORCE=1 to redo it" "$T/m2" \
  && pass pretrain_edit_refused_naming_it || fail pretrain_edit_refused_naming_it "rc=$rc $(grep pretrain: "$T/m2" | tail -2)"
FORCE=1 $M phase-F >"$T/m3" 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '"steps": 24' "$R/pretrain_base/pretrain_config.json")" -eq 1 ] \
  && grep -q '"discard".*steps 20; now 24' "$R/pretrain_base/_run_tracker/events.jsonl" && ls "$R"/.trash/*/pretrain_base >/dev/null 2>&1 \
  && pass force_redoes_changed_run || fail force_redoes_changed_run "rc=$rc $(tail -2 "$T/m3")"
! grep -q "bin/gen-corpus\|bin/gen-tasks" "$T/m3" && pass force_leaves_phase_a || fail force_leaves_phase_a "$(grep '^bin/' "$T/m3" | cut -c1-60)"
$M -q phase-F && pass up_to_date_after_force || fail up_to_date_after_force "make -q says work remains"

# ttt.lr: refused on a completed TTT run, by hand and through Make; best-of-N does not read it.
S=$R/suite
args="--tasks $T/out/ci/data/discovery/heldout.jsonl --ckpt $R/pretrain_base/ckpt_latest --tokenizer $T/out/ci/data/tokenizer/bpe300.model"
expect_err lr_change_refused 2 "ttt_main_seed0: completed with lr 1.0e-3; now 0.002 — FORCE=1 to redo it" \
    $BIN/ttt --config "$T/cfg/ci.yaml" $args --out_root "$S/ttt_main_seed0" --seed 0 --mode ttt --lr 0.002
$BIN/ttt --config "$T/cfg/ci.yaml" $args --out_root "$S/base_bestofn_seed0" --seed 0 --mode bestofn --lr 0.002 >"$T/b1" 2>&1 \
  && grep -q "nothing to do" "$T/b1" && pass bestofn_ignores_lr || fail bestofn_ignores_lr "$(cat "$T/b1")"
sed -i '/^ttt:/,/^$/s/^  lr: 1.0e-3/  lr: 2.0e-3/' "$T/cfg/ci.yaml"
before=$(cat "$S/base_bestofn_seed0/_run_tracker/events.jsonl" | md5sum)
FORCE=1 $M phase-F >"$T/m4" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "base_bestofn_seed0 is complete with these settings and inputs; nothing to do" "$T/m4" \
  && grep -q '"discard".*lr 1.0e-3; now 2.0e-3' "$S/ttt_main_seed0/_run_tracker/events.jsonl" \
  && [ "$(cat "$S/base_bestofn_seed0/_run_tracker/events.jsonl" | md5sum)" = "$before" ] \
  && pass force_redoes_only_changed_runs || fail force_redoes_only_changed_runs "rc=$rc $(grep 'ttt:' "$T/m4" | head -3)"
! grep -q "bin/pretrain" "$T/m4" && pass lr_edit_leaves_pretrain || fail lr_edit_leaves_pretrain "$(grep '^bin/' "$T/m4" | cut -c1-60)"
