# gen-tasks: the real binary writes both splits (valid, disjoint, deterministic),
# records its run, and refuses bad flags with exit 2.
. "$(dirname "$0")/lib.sh"
G=$BIN/gen-tasks
$G --seed 0 --out_train "$T/d/train.jsonl" --out_heldout "$T/d/heldout.jsonl" --n_train 30 --n_heldout 12 >"$T/log" 2>&1 \
  && pass gen_tasks_runs || fail gen_tasks_runs "$(cat "$T/log")"
[ "$(wc -l <"$T/d/train.jsonl")" -eq 30 ] && [ "$(wc -l <"$T/d/heldout.jsonl")" -eq 12 ] \
  && pass both_files_written || fail both_files_written "wrong line counts"
grep -q '"split":"heldout"' "$T/d/heldout.jsonl" && ! grep -q '"split":"heldout"' "$T/d/train.jsonl" \
  && pass splits_labelled || fail splits_labelled "split field"
sed 's/.*"prompt":"\([^"]*\)".*/\1/' "$T/d/train.jsonl" | sort >"$T/p1"
sed 's/.*"prompt":"\([^"]*\)".*/\1/' "$T/d/heldout.jsonl" | sort >"$T/p2"
[ -z "$(comm -12 "$T/p1" "$T/p2")" ] && pass splits_disjoint || fail splits_disjoint "shared prompts"
for f in reach constrain order; do grep -q "\"family\":\"$f\"" "$T/d/train.jsonl" || fail "family_$f" "missing"; done
grep -q '"status": *"completed"' "$T/d/_runs/train.jsonl/run_record.json" && pass run_recorded || fail run_recorded "no completed run record"
$G --seed 0 --out_train "$T/e/train.jsonl" --out_heldout "$T/e/heldout.jsonl" --n_train 30 --n_heldout 12 >/dev/null 2>&1
cmp -s "$T/d/train.jsonl" "$T/e/train.jsonl" && cmp -s "$T/d/heldout.jsonl" "$T/e/heldout.jsonl" \
  && pass deterministic || fail deterministic "same seed, different files"
$G --seed 0 --out_train "$T/f/train.jsonl" --out_heldout "$T/f/heldout.jsonl" --n_train 9 --n_heldout 3 --families order \
   --min_difficulty 2 --max_difficulty 3 >/dev/null 2>&1
[ "$(grep -c '"family":"order"' "$T/f/train.jsonl")" -eq 9 ] && grep -q '"difficulty":[23]' "$T/f/train.jsonl" \
  && ! grep -q '"difficulty":[145]' "$T/f/train.jsonl" && pass families_and_difficulty || fail families_and_difficulty "flags ignored"
printf 'gen_tasks:\n  n_train: 4\n  n_heldout: 2\n  families: reach\n' >"$T/c.yaml"
$G --config "$T/c.yaml" --out_train "$T/g/train.jsonl" --out_heldout "$T/g/heldout.jsonl" >/dev/null 2>&1 \
  && [ "$(wc -l <"$T/g/train.jsonl")" -eq 4 ] && pass config_section || fail config_section "gen_tasks section not read"
$G --help | grep -q -- "--out_heldout" && pass help_text || fail help_text "no --out_heldout in --help"

O="--out_train $T/x/train.jsonl --out_heldout $T/x/heldout.jsonl"
expect_err unknown_flag 2 "unknown" $G $O --bogus 1
expect_err missing_out 2 "out_heldout" $G --out_train "$T/x/train.jsonl"
expect_err bad_family 2 "unknown task family 'chess'" $G $O --families reach,chess
expect_err difficulty_range 2 "max_difficulty" $G $O --min_difficulty 4 --max_difficulty 2
expect_err difficulty_out_of_range 2 "out of range" $G $O --max_difficulty 9
expect_err same_outputs 2 "must differ" $G --out_train "$T/x/a.jsonl" --out_heldout "$T/x/a.jsonl"
expect_err too_many_for_range 2 "distinct" $G $O --families constrain --max_difficulty 1 --n_train 5000

# No contamination: a corpus holding no task prompt passes; one that holds a held-out
# task's prompt at the start of a line is refused, naming the line and the task, and no
# task file is written.
$BIN/gen-corpus --seed 0 --train_lines 20000 --val_lines 10 --train_out "$T/c/train.txt" --val_out "$T/c/val.txt" >/dev/null 2>&1
$G --seed 0 --out_train "$T/ok/train.jsonl" --out_heldout "$T/ok/heldout.jsonl" --n_train 30 --n_heldout 12 --corpus "$T/c/train.txt" >"$T/ok.log" 2>&1 \
  && grep -q "no task prompt in" "$T/ok.log" && pass corpus_check_clean || fail corpus_check_clean "$(tail -2 "$T/ok.log")"
p=$(sed -n '3s/.*"prompt":"\([^"]*\)".*/\1/p' "$T/ok/heldout.jsonl")
{ head -2 "$T/c/train.txt"; echo "$p 3 + 4 ; score 0.50"; tail -n +3 "$T/c/train.txt"; } >"$T/c/dirty.txt"
expect_err corpus_contaminated_refused 2 "dirty.txt:3: the pretraining corpus holds the prompt of heldout task heldout-00002-" \
    $G --seed 0 --out_train "$T/dirty/train.jsonl" --out_heldout "$T/dirty/heldout.jsonl" --n_train 30 --n_heldout 12 --corpus "$T/c/dirty.txt"
[ ! -e "$T/dirty/train.jsonl" ] && [ ! -e "$T/dirty/heldout.jsonl" ] && pass corpus_contaminated_writes_nothing \
  || fail corpus_contaminated_writes_nothing "$(ls "$T/dirty")"
expect_err corpus_missing 2 "nope.txt" $G --seed 0 --out_train "$T/m/train.jsonl" --out_heldout "$T/m/heldout.jsonl" --n_train 3 --n_heldout 3 --corpus "$T/nope.txt"
