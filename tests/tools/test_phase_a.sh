# Phase A end to end through Make on configs/ci.yaml: artifacts, determinism,
# Make's incremental behaviour (touch vs content change), make check, and the
# Hugging Face cross-check of the tokenizer on every line.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
M="make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT=$T/out"
O=$T/out/ci/data
$M phase-A >"$T/log1" 2>&1 && pass make_phase_a || { fail make_phase_a "$(tail -5 "$T/log1")"; exit 1; }
for f in raw/train.txt raw/val.txt tokenizer/bpe300.model tokenizer/tokenizer.json tokenizer/tokenizer_config.json packed/train.bin packed/val.bin; do
    [ -s "$O/$f" ] || fail "artifact_$f" "missing"
done
pass phase_a_artifacts_present
$M phase-A >"$T/log2" 2>&1
grep -q "Nothing to be done" "$T/log2" && ! grep -q "bin/" "$T/log2" && pass second_make_does_nothing || fail second_make_does_nothing "$(cat "$T/log2")"

tok_mtime=$(stat -c %Y.%y "$O/tokenizer/bpe300.model")
touch -d "@$(( $(stat -c %Y "$O/raw/train.txt") + 2 ))" "$O/raw/train.txt"   # a later mtime, no sleep
$M phase-A >"$T/log3" 2>&1
[ "$(stat -c %Y.%y "$O/tokenizer/bpe300.model")" = "$tok_mtime" ] && ! grep -q train-tokenizer "$T/log3" \
  && pass touch_does_not_retrain_tokenizer || fail touch_does_not_retrain_tokenizer "$(cat "$T/log3")"
# A real content change upstream (here: the corpus seed in the config) propagates.
mkdir -p "$T/cfg"; sed 's/seed: 0/seed: 3/' configs/ci.yaml >"$T/cfg/ci.yaml"
make --no-print-directory CONFIG="$T/cfg/ci.yaml" OUT_ROOT="$T/out" phase-A >"$T/log4" 2>&1
grep -q "bin/train-tokenizer" "$T/log4" && grep -q "bin/pack-bins" "$T/log4" \
  && pass content_change_retrains || fail content_change_retrains "$(cat "$T/log4")"
$M phase-A >/dev/null 2>&1   # back to seed 0 for the checks below

# Determinism: the same seed gives byte-identical corpus and tokenizer.
$BIN/gen-corpus --config configs/ci.yaml --train_out "$T/r/train.txt" --val_out "$T/r/val.txt" >/dev/null
$BIN/gen-corpus --config configs/ci.yaml --train_out "$T/r2/train.txt" --val_out "$T/r2/val.txt" >/dev/null
cmp -s "$T/r/train.txt" "$T/r2/train.txt" && cmp -s "$T/r/val.txt" "$T/r2/val.txt" && pass corpus_deterministic || fail corpus_deterministic "differs"
$BIN/gen-corpus --config configs/ci.yaml --seed 5 --train_out "$T/r3/train.txt" --val_out "$T/r3/val.txt" >/dev/null
! cmp -s "$T/r/train.txt" "$T/r3/train.txt" && pass corpus_seed_matters || fail corpus_seed_matters "seed 5 == seed 0"
$BIN/train-tokenizer --input "$T/r/train.txt" --model_prefix "$T/k1/t" --vocab_size 400 --threads 1 >/dev/null
$BIN/train-tokenizer --input "$T/r/train.txt" --model_prefix "$T/k2/t" --vocab_size 400 --threads 2 >/dev/null
cmp -s "$T/k1/t.model" "$T/k2/t.model" && cmp -s "$T/k1/tokenizer.json" "$T/k2/tokenizer.json" \
  && pass tokenizer_deterministic || fail tokenizer_deterministic "differs"
$BIN/pack-bins --tokenizer "$T/k1/t.model" --input "$T/r/train.txt" --output "$T/p1.bin" --threads 1 >/dev/null
$BIN/pack-bins --tokenizer "$T/k1/t.model" --input "$T/r/train.txt" --output "$T/p2.bin" --threads 2 --verify 1 >/dev/null \
  && pass pack_roundtrip_every_line || fail pack_roundtrip_every_line "verify failed"
cmp -s "$T/p1.bin" "$T/p2.bin" && pass pack_thread_independent || fail pack_thread_independent "differs"

# Provenance: the bin's run records the tokenizer's and the text's hashes.
prov=$O/packed/_runs/train.bin/provenance.json
grep -q "$(sha256sum "$O/tokenizer/bpe300.model" | cut -c1-64)" "$prov" && pass provenance_records_inputs || fail provenance_records_inputs "no tokenizer hash in $prov"
# An input whose content changed since its run wrote it is refused, naming the run.
cp "$O/raw/val.txt" "$T/val.bak"; echo "tampered" >>"$O/raw/val.txt"
expect_err provenance_refuses_changed_input 2 "val.txt: content changed since run .*_runs/train.txt" \
    $BIN/pack-bins --tokenizer "$O/tokenizer/bpe300.model" --input "$O/raw/val.txt" --output "$T/x.bin"
cp "$T/val.bak" "$O/raw/val.txt"

# make check: all present -> 0; one missing -> non-zero and named.
$M check PHASES=A >"$T/c1" 2>&1 && grep -q "0 missing" "$T/c1" && pass make_check_complete || fail make_check_complete "$(cat "$T/c1")"
mv "$O/packed/val.bin" "$T/val.bin"
if $M check PHASES=A >"$T/c2" 2>&1; then fail make_check_missing "exit 0"; else grep -q "\[ \] val.bin" "$T/c2" && pass make_check_missing || fail make_check_missing "$(cat "$T/c2")"; fi
mv "$T/val.bin" "$O/packed/val.bin"

# Hugging Face tokenizers (npm) give exactly our ids on every line.
if [ -d tests/hf/node_modules/@huggingface/tokenizers ]; then
    node tests/hf/hf_check.mjs "$O/tokenizer/tokenizer.json" "$O/tokenizer/tokenizer_config.json" "$O/raw/val.txt" "$O/packed/val.bin" >"$T/hf" 2>&1 \
      && pass hf_tokenizers_identical_ids || fail hf_tokenizers_identical_ids "$(tail -5 "$T/hf")"
else
    fail hf_tokenizers_identical_ids "tests/hf/node_modules missing: run make deps"
fi
# ... also on text unlike the corpus: UTF-8, punctuation runs, tabs, digits, spaces.
if [ -d tests/hf/node_modules/@huggingface/tokenizers ]; then
    printf '%s\n' "héllo wörld — ünïcödé ✓ 日本語 テキスト" "  leading and trailing spaces   " "tabs	and	more		tabs" \
        "12345678901234567890 + 3.14159 = ???" "it's they're we'll I'd" "!!!...,,,;;; (((nested)))" "emoji 🙂🙃 mixed123abc" \
        "" "x" "   " "a  b   c    d" "CamelCaseWordsAndALLCAPS" "naïve café résumé" \
        "        return self._x[0](y_1)  # done" "	  	 x  " >"$T/tricky.txt"
    $BIN/pack-bins --tokenizer "$O/tokenizer/bpe300.model" --input "$T/tricky.txt" --output "$T/tricky.bin" --verify 1 >/dev/null \
      && pass pack_roundtrip_unicode || fail pack_roundtrip_unicode "verify failed"
    node tests/hf/hf_check.mjs "$O/tokenizer/tokenizer.json" "$O/tokenizer/tokenizer_config.json" "$T/tricky.txt" "$T/tricky.bin" >"$T/hf2" 2>&1 \
      && pass hf_tokenizers_identical_ids_unicode || fail hf_tokenizers_identical_ids_unicode "$(tail -5 "$T/hf2")"
fi
# ... and on real text (licence texts and Python sources: indentation, space runs,
# identifiers; tests/bench/real_text.py, as `make bench` assembles it), with a
# tokenizer trained on its training part at the bench's 8000, on the held-out part.
if /usr/bin/python3 tests/bench/real_text.py "$T/real" 2>"$T/real.err"; then
    $BIN/train-tokenizer --input "$T/real/real_train.txt" --model_prefix "$T/real/t" --vocab_size 8000 >/dev/null \
      && $BIN/pack-bins --tokenizer "$T/real/t.model" --input "$T/real/real_heldout.txt" --output "$T/real/h.bin" --verify 1 >/dev/null \
      && pass pack_roundtrip_real_text || fail pack_roundtrip_real_text "train or verify failed"
    if [ -d tests/hf/node_modules/@huggingface/tokenizers ]; then
        node tests/hf/hf_check.mjs "$T/real/tokenizer.json" "$T/real/tokenizer_config.json" "$T/real/real_heldout.txt" "$T/real/h.bin" >"$T/hf3" 2>&1 \
          && pass hf_tokenizers_identical_ids_real_text || fail hf_tokenizers_identical_ids_real_text "$(tail -5 "$T/hf3")"
    fi
else
    fail real_text_assembled "$(cat "$T/real.err")"
fi

# kill -9 after train-tokenizer renamed its model into place but before it marked its
# run completed, while pack-bins had not started: the on-disk state of that instant is a
# model whose run says "running" and no completion record. The same command redoes the
# run (never a consumer refusing the model, for good), and the model is the same.
tok=$(sha256sum <"$O/tokenizer/bpe300.model")
TR=$O/tokenizer/_runs/bpe300.model
for f in run_record.json _run_tracker/heartbeat.json; do
    python3 -c "import json,sys; p=sys.argv[1]; r=json.load(open(p)); r['status']='running'; json.dump(r, open(p,'w'))" "$TR/$f"
done
rm -f "$TR/.complete"; mv "$O/packed" "$T/packed.before"
$M phase-A >"$T/log_k" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "bin/train-tokenizer" "$T/log_k" && grep -q '"status": "completed"' "$TR/run_record.json" \
  && [ "$(sha256sum <"$O/tokenizer/bpe300.model")" = "$tok" ] && cmp -s "$O/packed/train.bin" "$T/packed.before/train.bin" \
  && pass killed_before_completion_is_redone || fail killed_before_completion_is_redone "rc=$rc $(tail -3 "$T/log_k")"
$M phase-A >"$T/log_k2" 2>&1 && ! grep -q "bin/" "$T/log_k2" && pass redone_run_then_no_tool_runs || fail redone_run_then_no_tool_runs "$(cat "$T/log_k2")"
# An output deleted by hand is made again by its run.
rm "$O/packed/val.bin"
$M phase-A >"$T/log_d" 2>&1 && cmp -s "$O/packed/val.bin" "$T/packed.before/val.bin" && grep -q "bin/pack-bins" "$T/log_d" \
  && pass deleted_output_is_redone || fail deleted_output_is_redone "$(tail -3 "$T/log_d")"

# make clean moves the outputs aside, never deletes them.
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" clean >"$T/clean" 2>&1
moved=$(sed -n 's/^moved .* to //p' "$T/clean")
[ ! -e "$T/out/ci" ] && [ -n "$moved" ] && [ -s "$moved/data/packed/train.bin" ] && pass make_clean_moves_to_trash || fail make_clean_moves_to_trash "$(cat "$T/clean")"
rm -rf "$moved"
