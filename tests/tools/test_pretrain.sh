# pretrain on real bins: artifacts, bit-exact resume after pause (file and
# Ctrl+C) and after kill -9, checksum fallback, --init_from, --no-resume/--force,
# and bad input (one line, exit 2, nothing damaged).
. "$(dirname "$0")/lib.sh"
cd "$T"
$BIN/gen-corpus --seed 0 --train_lines 3000 --val_lines 300 --train_out d/train.txt --val_out d/val.txt >/dev/null
$BIN/train-tokenizer --input d/train.txt --model_prefix d/tok --vocab_size 300 >/dev/null
$BIN/pack-bins --tokenizer d/tok.model --input d/train.txt --output d/train.bin >/dev/null
$BIN/pack-bins --tokenizer d/tok.model --input d/val.txt --output d/val.bin >/dev/null
MODEL=$ROOT/configs/model/tiny.yaml
# exec: background runs must be the pretrain process itself, so signals reach it.
P() { exec $BIN/pretrain --train_bin d/train.bin --val_bin d/val.bin --model $MODEL --seq_len 64 --micro_bs 2 --grad_accum 2 \
        --lr 3e-3 --warmup 3 --eval_interval 10 --eval_batches 2 --ckpt_interval 5 --threads 2 "$@"; }
Psub() { (P "$@"); }
payload() { python3 -c "import json,struct,sys; f=open(sys.argv[1],'rb'); n=struct.unpack('<Q',f.read(8))[0]; print(json.loads(f.read(n))['__metadata__']['payload_sha256'])" "$1"; }

(P --out ref --steps 30) >ref.log 2>&1 && pass pretrain_runs || { fail pretrain_runs "$(tail -3 ref.log)"; exit 1; }
ok=1; for f in ckpt_latest ckpt_step_0000030/model.safetensors model_config.json pretrain_config.json metrics.jsonl \
    _run_tracker/heartbeat.json run_record.json; do [ -e ref/$f ] || { ok=0; echo "missing $f"; }; done
[ $ok = 1 ] && pass pretrain_artifacts || fail pretrain_artifacts "see above"
# Live numbers: the heartbeat carries the last step's loss, val loss and tokens/s (those of
# metrics.jsonl's last line); watch shows them.
python3 - ref <<'PY' && pass heartbeat_live_loss || fail heartbeat_live_loss "see above"
import json, sys
hb = json.load(open(sys.argv[1] + "/_run_tracker/heartbeat.json"))
last = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")][-1]
lv = hb["live"]
assert all(abs(lv[k] - last[k]) <= 1e-8 * abs(last[k]) for k in ("loss", "val_loss", "tokens_per_s")), (lv, last)
PY
$BIN/watch --run_dir ref | grep -q "| loss [0-9.]* val [0-9.]* [0-9]* tok/s" && $BIN/watch --root . | grep "^\./ref " | grep -q "loss [0-9.]*$" \
  && pass watch_shows_live_loss || fail watch_shows_live_loss "$($BIN/watch --run_dir ref; $BIN/watch --root .)"
# the sparkline: the last 30 losses of metrics.jsonl (30 steps), min to max, then the last value
$BIN/watch --run_dir ref | tail -1 | python3 -c "
import json, sys
line = sys.stdin.read().split()
assert line[0] == 'loss' and len(line[1]) == 30 and set(line[1]) <= set(chr(0x2581 + k) for k in range(8)), line
last = [json.loads(l) for l in open('ref/metrics.jsonl')][-1]['loss']
assert abs(float(line[2]) - last) < 1e-3 * last, (line, last)
" && pass watch_loss_sparkline || fail watch_loss_sparkline "$($BIN/watch --run_dir ref)"
[ "$(readlink ref/ckpt_latest)" = ckpt_step_0000030 ] && pass ckpt_latest_symlink || fail ckpt_latest_symlink "$(readlink ref/ckpt_latest)"
python3 - ref/metrics.jsonl <<'PY' && pass metrics_jsonl_fields || fail metrics_jsonl_fields "bad metrics.jsonl"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["step"] for r in rows] == list(range(1, 31)), [r["step"] for r in rows]
for r in rows: assert {"loss", "lr", "grad_norm", "tokens_per_s"} <= set(r)
assert "val_loss" in rows[9] and "val_loss" in rows[29]
assert rows[-1]["loss"] < rows[0]["loss"] - 0.5, (rows[0]["loss"], rows[-1]["loss"])
PY
[ ! -e ref/ckpt_step_0000010/optim.safetensors ] && [ -e ref/ckpt_step_0000030/optim.safetensors ] \
  && pass old_checkpoints_keep_weights_only || fail old_checkpoints_keep_weights_only "optim state pruning"
REF=$(payload ref/ckpt_step_0000030/model.safetensors)

# Pause by request file: exit 75 after a checkpoint; the same command resumes; same bits.
mkdir -p pz/control && touch pz/control/pause.request
(P --out pz --steps 30) >pz.log 2>&1; rc=$?
[ $rc -eq 75 ] && [ -f pz/control/pause_ack.json ] && [ ! -e pz/control/pause.request ] && [ -L pz/ckpt_latest ] \
  && pass pause_exits_75_with_checkpoint || fail pause_exits_75_with_checkpoint "rc=$rc $(tail -2 pz.log)"
(P --out pz --steps 30) >>pz.log 2>&1 && [ "$(payload pz/ckpt_step_0000030/model.safetensors)" = "$REF" ] \
  && pass resume_after_pause_bit_identical || fail resume_after_pause_bit_identical "weights differ"
python3 -c "import json; r=[json.loads(l)['step'] for l in open('pz/metrics.jsonl')]; assert r==list(range(1,31)), r" \
  && pass resume_metrics_no_duplicates || fail resume_metrics_no_duplicates "$(cut -c1-20 pz/metrics.jsonl | tr '\n' ' ')"

# Ctrl+C (SIGINT) mid-run (held past step 5), then rerun.
hold_at sg 5
(P --out sg --steps 30) >sg.log 2>&1 & pid=$!
wait_held sg $pid
kill -INT $pid; wait $pid; rc=$?
release sg
(P --out sg --steps 30) >>sg.log 2>&1
[ $rc -eq 75 ] && [ "$(payload sg/ckpt_step_0000030/model.safetensors)" = "$REF" ] \
  && pass sigint_pause_resume_bit_identical || fail sigint_pause_resume_bit_identical "rc=$rc"

# kill -9 mid-run, then rerun: resumes from the last checkpoint, same bits.
hold_at k9 10
(P --out k9 --steps 30) >k9.log 2>&1 & pid=$!
wait_held k9 $pid
expect_err second_process_refused 2 "k9: run dir in use by another live process" Psub --out k9 --steps 30
kill -9 $pid; wait $pid 2>/dev/null
release k9
st=$(python3 -c "import json; print(json.load(open('k9/_run_tracker/heartbeat.json'))['status'])")
# What writers killed mid-write leave (lib/base/atomic, lib/nn/ckpt): cleared when the run starts again.
mkdir -p k9/ckpt_step_0000015.tmp.4242 k9/ckpt_step_0000005.old.4243 && touch k9/ckpt_step_0000015.tmp.4242/model.safetensors \
  k9/metrics.jsonl.tmp.4244 k9/_run_tracker/heartbeat.json.tmp.4245 k9/keep.tmp.notapid
(P --out k9 --steps 30) >>k9.log 2>&1
[ -z "$(find k9 -name '*.tmp.[0-9]*' -o -name '*.old.[0-9]*')" ] && [ -e k9/keep.tmp.notapid ] \
  && pass stale_temps_cleared_at_start || fail stale_temps_cleared_at_start "$(find k9 -name '*.tmp.*' -o -name '*.old.*')"
python3 - k9/_run_tracker/events.jsonl <<'PY' && pass checkpoint_events_name_their_step || fail checkpoint_events_name_their_step "see above"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"checkpoint"' in l]
assert ev, "no checkpoint events"
for e in ev: assert e["dir"].endswith("ckpt_step_%07d" % e["step"]), e
PY
[ "$st" = running ] && grep -q "resuming from" k9.log && [ "$(payload k9/ckpt_step_0000030/model.safetensors)" = "$REF" ] \
  && pass kill9_resume_bit_identical || fail kill9_resume_bit_identical "status at kill: $st"

# A checkpoint that fails its checksum is reported and the previous one used.
(P --out cs --steps 10) >cs.log 2>&1
python3 - cs/ckpt_step_0000010/model.safetensors <<'PY'
import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-5] ^= 0xFF; open(p, 'wb').write(b)
PY
rm -f cs/run_record.json   # as after a crash: not marked completed
(P --out cs --steps 15) >cs2.log 2>&1
grep -q "ckpt_step_0000010 is unusable (.*checksum mismatch" cs2.log && grep -q "resuming from cs/ckpt_step_0000005" cs2.log \
  && pass corrupt_checkpoint_falls_back || fail corrupt_checkpoint_falls_back "$(head -3 cs2.log)"

# Completed runs: a rerun does nothing; --no-resume needs --force, which moves the old run to .trash/.
(P --out ref --steps 30) >again.log 2>&1 && grep -q "nothing to do" again.log && pass completed_rerun_is_noop || fail completed_rerun_is_noop "$(cat again.log)"
expect_err no_resume_needs_force 2 "ref: a completed run; --no-resume would redo it: add --force" Psub --out ref --steps 30 --no-resume
cp -r ref ref_copy
(P --out ref_copy --steps 5 --no-resume --force) >/dev/null 2>&1
ls .trash/*/ref_copy/ckpt_step_0000030/model.safetensors >/dev/null 2>&1 && grep -q '"event":"discard"' ref_copy/_run_tracker/events.jsonl \
  && pass force_moves_old_run_to_trash || fail force_moves_old_run_to_trash "$(ls -a .trash 2>&1)"

# Warm start from a checkpoint.
(P --out warm --steps 2 --init_from ref/ckpt_latest) >warm.log 2>&1
python3 -c "import json; r=[json.loads(l) for l in open('warm/metrics.jsonl')]; assert r[0]['loss'] < 4.5, r[0]" \
  && pass init_from_warm_start || fail init_from_warm_start "$(head -1 warm/metrics.jsonl)"

# Bad input.
before=$(sha256sum ref/ckpt_step_0000030/model.safetensors)
expect_err ckpt_of_other_shape 2 "ckpt_step_0000030: written for a different model" \
    $BIN/pretrain --train_bin d/train.bin --val_bin d/val.bin --model $ROOT/configs/model/ci.yaml --out ref --steps 40 --seq_len 32
expect_err init_from_other_shape 2 "model.safetensors: tensor .* has shape" \
    $BIN/pretrain --train_bin d/train.bin --val_bin d/val.bin --model $ROOT/configs/model/ci.yaml --out x1 --steps 2 --seq_len 32 --init_from ref/ckpt_latest
expect_err missing_val_bin 2 "nope.bin: cannot open" Psub --out x2 --steps 2 --val_bin d/nope.bin
head -c 3000 d/train.bin >d/trunc.bin
expect_err truncated_bin 2 "trunc.bin: .*truncated" Psub --out x3 --steps 2 --train_bin d/trunc.bin
python3 - <<'PY'
import struct; h = struct.pack('<5i', 0x4444544B, 1, 4000, 5000, 2) + bytes(1024 - 20)
open('d/big.bin', 'wb').write(h + bytes(8000))
PY
expect_err bin_vocab_exceeds_model 2 "big.bin: vocab 5000 exceeds the model's vocab_size 1024" Psub --out x4 --steps 2 --train_bin d/big.bin
printf 'd_model: 32\nn_layers: 1\nn_heads: 3\nseq_len: 32\nvocab_size: 300\n' >bad_model.yaml
expect_err model_config_nonsense 2 "bad_model.yaml: n_heads: 3 does not divide d_model 32" Psub --out x5 --steps 2 --model bad_model.yaml
# Ids at or past the vocab (valid header, corrupt payload): refused when the bin is opened,
# naming the file and the byte of the first bad id; nothing is written.
poison_bin d/train.bin d/badid.bin 1000
expect_err train_bin_id_beyond_vocab 2 "badid.bin: byte 3024 \(token 1000\): id 300 is not below the header's vocab 300" \
    Psub --out x8 --steps 2 --train_bin d/badid.bin
[ ! -e x8 ] && pass train_bin_bad_id_writes_nothing || fail train_bin_bad_id_writes_nothing "x8 was created"
poison_bin d/val.bin d/badval.bin 7
expect_err val_bin_id_beyond_vocab 2 "badval.bin: byte 1038 \(token 7\): id 300 is not below" Psub --out x9 --steps 2 --val_bin d/badval.bin
[ ! -e x9 ] && pass val_bin_bad_id_writes_nothing || fail val_bin_bad_id_writes_nothing "x9 was created"
expect_err seq_len_exceeds_model 2 "seq_len: 512 exceeds the model's seq_len 128" Psub --out x6 --steps 2 --seq_len 512
head -c 500 ref/ckpt_step_0000030/model.safetensors >trunc.safetensors
expect_err truncated_checkpoint 2 "trunc.safetensors" Psub --out x7 --steps 2 --init_from trunc.safetensors
[ "$(sha256sum ref/ckpt_step_0000030/model.safetensors)" = "$before" ] && pass bad_input_leaves_checkpoints_intact || fail bad_input_leaves_checkpoints_intact "changed"
