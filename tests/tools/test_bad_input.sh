# Bad input to the phase-A tools: one-line error naming the file (and place),
# exit 2, nothing already on disk damaged.
. "$(dirname "$0")/lib.sh"
G=$BIN/gen-corpus
cat >"$T/ok.yaml" <<'Y'
gen_corpus:
  seed: 1
  train_lines: 50
  val_lines: 10
Y
$G --config "$T/ok.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt" >/dev/null
before=$(sha256sum "$T/d/train.txt")

printf 'gen_corpus:\n  seed: [1, 2\n' >"$T/malformed.yaml"
expect_err config_malformed_yaml 2 "malformed.yaml:[0-9]+:[0-9]+: YAML error" $G --config "$T/malformed.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpus:\n  seed: 1\n  trian_lines: 5\n' >"$T/unknown.yaml"
expect_err config_unknown_key 2 "unknown.yaml:3:3: unknown key 'gen_corpus.trian_lines'; did you mean train_lines\\?" $G --config "$T/unknown.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpuz:\n  seed: 1\n' >"$T/unknown_top.yaml"
expect_err config_unknown_section 2 "unknown_top.yaml:1:1: unknown top-level key 'gen_corpuz'" $G --config "$T/unknown_top.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpus:\n  train_lines: lots\n' >"$T/type.yaml"
expect_err config_wrong_type 2 "type.yaml:2:16: gen_corpus.train_lines: expected an integer, got 'lots'" $G --config "$T/type.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpus:\n  train_lines: "12"\n' >"$T/quoted.yaml"
expect_err config_quoted_number 2 "quoted.yaml:2:16: gen_corpus.train_lines: expected an integer, got the string" $G --config "$T/quoted.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpus:\n  val_lines: 0\n' >"$T/range.yaml"
expect_err config_out_of_range 2 "range.yaml:2:14: gen_corpus.val_lines: 0 is out of range" $G --config "$T/range.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpus:\n  seed: {a: 1}\n' >"$T/map.yaml"
expect_err config_mapping_for_scalar 2 "map.yaml:2:9: gen_corpus.seed: expected an integer, got a mapping" $G --config "$T/map.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'gen_corpus:\n  seed: 1\n  seed: 2\n' >"$T/dup.yaml"
expect_err config_duplicate_key 2 "dup.yaml:3:3: gen_corpus.seed: duplicate key" $G --config "$T/dup.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
printf 'threads: many\n' >"$T/common.yaml"
expect_err config_common_key_type 2 "common.yaml:1:10: threads: expected an integer" $G --config "$T/common.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
expect_err config_missing_file 2 "nope.yaml: cannot open" $G --config "$T/nope.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
expect_err flag_far_from_any_key 2 "unknown flag '--zebra' \\(see --help\\)$" $G --zebra 5 --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
expect_err flag_unknown 2 "unknown flag '--trian_lines'; did you mean --train_lines\\? \\(see --help\\)" $G --trian_lines 5 --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
expect_err flag_wrong_type 2 "train_lines: expected an integer, got 'x'" $G --train_lines x --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
expect_err flag_missing_required 2 "missing required --val_out" $G --train_out "$T/d/train.txt"
expect_err flag_missing_value 2 "--seed: missing value" $G --train_out "$T/d/train.txt" --val_out "$T/d/val.txt" --seed
printf 'gen_corpus:\n  weights: {sentence: 3, nonsense: 1}\n' >"$T/weights.yaml"
expect_err config_unknown_weight 2 "weights.yaml: gen_corpus.weights: unknown line kind 'nonsense'" $G --config "$T/weights.yaml" --train_out "$T/d/train.txt" --val_out "$T/d/val.txt"
[ "$(sha256sum "$T/d/train.txt")" = "$before" ] && pass config_errors_leave_outputs_intact || fail config_errors_leave_outputs_intact "train.txt changed"

# Flags override config keys.
$G --config "$T/ok.yaml" --train_lines 7 --train_out "$T/f/train.txt" --val_out "$T/f/val.txt" >/dev/null
[ "$(wc -l <"$T/f/train.txt")" -eq 7 ] && pass flag_overrides_config || fail flag_overrides_config "$(wc -l <"$T/f/train.txt") lines"
grep -q "train_lines: 7" "$T/f/_runs/train.txt/config_resolved.yaml" && grep -q "seed: 1" "$T/f/_runs/train.txt/config_resolved.yaml" \
  && pass config_resolved_written || fail config_resolved_written "$(cat "$T/f/_runs/train.txt/config_resolved.yaml")"

# Unwritable output (a file where a directory must be).
touch "$T/blocker"
expect_err unwritable_output 2 "blocker" $G --train_lines 5 --val_lines 5 --train_out "$T/blocker/train.txt" --val_out "$T/blocker/val.txt"

# Tokenizer: missing input, empty corpus, vocab too small, unreachable vocab.
TT=$BIN/train-tokenizer
expect_err tokenizer_missing_input 2 "missing.txt: cannot open" $TT --input "$T/missing.txt" --model_prefix "$T/tok/x" --vocab_size 300
: >"$T/empty.txt"
expect_err tokenizer_empty_corpus 2 "empty.txt: empty corpus" $TT --input "$T/empty.txt" --model_prefix "$T/tok/x" --vocab_size 300
expect_err tokenizer_vocab_too_small 2 "vocab_size: 100 is out of range" $TT --input "$T/d/train.txt" --model_prefix "$T/tok/x" --vocab_size 100
printf 'ab ab ab\n' >"$T/small.txt"
expect_err tokenizer_vocab_unreachable 2 "small.txt: the text supplies only [0-9]+ tokens" $TT --input "$T/small.txt" --model_prefix "$T/tok/x" --vocab_size 5000
expect_err tokenizer_model_type 2 "model_type: 'unigram' is not supported" $TT --input "$T/d/train.txt" --model_prefix "$T/tok/x" --model_type unigram

# pack-bins: corrupt tokenizer model, missing text; the existing bin survives.
$TT --input "$T/d/train.txt" --model_prefix "$T/tok/t" --vocab_size 300 >/dev/null
$BIN/pack-bins --tokenizer "$T/tok/t.model" --input "$T/d/train.txt" --output "$T/b/train.bin" >/dev/null
binsum=$(sha256sum "$T/b/train.bin")
head -c 40 "$T/tok/t.model" >"$T/tok/trunc.model"
expect_err pack_corrupt_tokenizer 2 "trunc.model" $BIN/pack-bins --tokenizer "$T/tok/trunc.model" --input "$T/d/train.txt" --output "$T/b/train.bin"
printf 'garbage\n' >"$T/tok/foreign.model"
expect_err pack_foreign_tokenizer 2 "foreign.model" $BIN/pack-bins --tokenizer "$T/tok/foreign.model" --input "$T/d/train.txt" --output "$T/b/train.bin"
expect_err pack_missing_text 2 "nothere.txt: cannot open" $BIN/pack-bins --tokenizer "$T/tok/t.model" --input "$T/nothere.txt" --output "$T/b/train.bin"
[ "$(sha256sum "$T/b/train.bin")" = "$binsum" ] && pass pack_errors_leave_bin_intact || fail pack_errors_leave_bin_intact "train.bin changed"

# A path too long to fit (over 4095 bytes): refused, exit 2, one line naming the problem,
# before anything is written (never a silently shortened path).
long=$T/long/$(printf 'd%.0s123456789/' $(seq 500))
expect_err path_too_long_output 2 "path too long \\(over [0-9]+ bytes\\)" $G --train_lines 5 --val_lines 5 --train_out "${long}train.txt" --val_out "${long}val.txt"
[ ! -e "$T/long" ] && pass path_too_long_output_writes_nothing || fail path_too_long_output_writes_nothing "$(find "$T/long" | head -3)"
expect_err path_too_long_run_dir 2 "path too long \\(over [0-9]+ bytes\\)" $G --train_lines 5 --val_lines 5 --train_out "$T/lr/train.txt" --val_out "$T/lr/val.txt" --run_dir "$long"
[ ! -e "$T/lr" ] && [ ! -e "$T/long" ] && pass path_too_long_run_dir_writes_nothing || fail path_too_long_run_dir_writes_nothing "$(ls "$T/lr" "$T/long" 2>&1 | head -3)"
expect_err path_too_long_pretrain_out 2 "path too long \\(over [0-9]+ bytes\\)" $BIN/pretrain --train_bin "$T/b/train.bin" --val_bin "$T/b/train.bin" --model "$ROOT/configs/model/ci.yaml" --seq_len 32 --micro_bs 1 --out "${long}run"
[ ! -e "$T/long" ] && pass path_too_long_pretrain_writes_nothing || fail path_too_long_pretrain_writes_nothing "$(find "$T/long" | head -3)"
