# sdft on a real ci pipeline: artifacts, the gate (keep_best keeps the last
# passing checkpoint; stop exits 3 with status gated), pause/resume to the same
# weights, an empty demo file refused naming the file and the threshold.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-C >"$T/c" 2>&1 || { fail phase_c_for_sdft "$(tail -3 "$T/c")"; exit 1; }
O=$T/out/ci
$BIN/build-sdft --suite_root "$O/runs/suite/ttt_train_seed0" --tasks_jsonl "$O/data/discovery/train.jsonl" --out_jsonl "$T/demos.jsonl" --min_reward 0 >/dev/null 2>&1
D() { $BIN/sdft --ckpt "$O/runs/pretrain_base/ckpt_latest" --tokenizer "$O/data/tokenizer/bpe300.model" --data "$T/demos.jsonl" \
        --gate_val_bin "$O/data/packed/val.bin" --gate_val_seq_len 32 --gate_val_bs 2 --gate_val_batches 2 --gate_every 2 \
        --steps 4 --lr 1e-3 --max_new_tokens 8 --best_of_k 2 --threads 2 "$@"; }
payload() { python3 -c "import json,struct,sys; f=open(sys.argv[1],'rb'); n=struct.unpack('<Q',f.read(8))[0]; print(json.loads(f.read(n))['__metadata__']['payload_sha256'])" "$1"; }
D --out "$T/s1" >"$T/l1" 2>&1 && pass sdft_runs || { fail sdft_runs "$(tail -3 "$T/l1")"; exit 1; }
ok=1; for f in sdft_latest sdft_step_0000000/model.safetensors sdft_step_0000004/model.safetensors model_config.json metrics.jsonl sdft_eval_report.json; do
    [ -e "$T/s1/$f" ] || { ok=0; echo "missing $f"; }; done
[ $ok = 1 ] && [ "$(readlink "$T/s1/sdft_latest")" = sdft_step_0000004 ] && [ ! -e "$T/s1/_resume" ] && pass sdft_artifacts || fail sdft_artifacts "see above"
python3 - "$T/s1" <<'PY' && pass sdft_heartbeat_live || fail sdft_heartbeat_live "see above"
import json, sys
lv = json.load(open(sys.argv[1] + "/_run_tracker/heartbeat.json"))["live"]
last = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")][-1]
assert abs(lv["kl"] - last["kl"]) <= 1e-8 * max(1, abs(last["kl"])) and abs(lv["val_ppl"] - last["val_ppl"]) <= 1e-8 * last["val_ppl"], (lv, last)
assert lv["gate"] == last["gate"], (lv, last)
PY
$BIN/watch --run_dir "$T/s1" | grep -q "| kl [0-9.e-]* val ppl [0-9.]* [A-Z]*$" && pass sdft_watch_live || fail sdft_watch_live "$($BIN/watch --run_dir "$T/s1")"
python3 - "$T/s1" <<'PY' && pass sdft_report_and_metrics || fail sdft_report_and_metrics "see above"
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/sdft_eval_report.json"))
for k in "base_val_ppl final_val_ppl gate_verdicts demos_used best_of_k_before best_of_k_after".split(): assert k in r, k
assert len(r["gate_verdicts"]) == 2 and r["published_step"] == 4
rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
assert [x["step"] for x in rows] == [1, 2, 3, 4] and "val_ppl_rel_delta" in rows[1] and "kl" in rows[0]
PY
# keep_best: a gate that is always RED stops at the first evaluation; sdft_latest is the base (step 0).
D --out "$T/red" --gates '[{"metric": "val_ppl_rel_delta", "green": "<=-1", "on_red": "keep_best"}]' >"$T/l2" 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(readlink "$T/red/sdft_latest")" = sdft_step_0000000 ] && [ ! -e "$T/red/sdft_step_0000002" ] \
  && grep -q '"red_step": 2' "$T/red/sdft_eval_report.json" && grep -q '"status": "completed"' "$T/red/run_record.json" \
  && pass gate_red_keep_best || fail gate_red_keep_best "rc=$rc $(tail -2 "$T/l2")"
[ "$(payload "$T/red/sdft_step_0000000/model.safetensors")" = "$(payload "$O/runs/pretrain_base/ckpt_latest/model.safetensors")" ] \
  && pass keep_best_base_is_base_weights || fail keep_best_base_is_base_weights "step 0 differs from the base"
D --out "$T/stop" --gates '[{"metric": "val_ppl_rel_delta", "green": "<=-1", "on_red": "stop"}]' >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q '"status": "gated"' "$T/stop/run_record.json" && pass gate_red_stop_exit_3 || fail gate_red_stop_exit_3 "rc=$rc"
D --out "$T/stop" --gates '[{"metric": "val_ppl_rel_delta", "green": "<=-1", "on_red": "stop"}]' >"$T/l3" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "stop: stopped by a RED gate" "$T/l3" && pass gated_sdft_stays_stopped || fail gated_sdft_stays_stopped "rc=$rc $(cat "$T/l3")"
# The reference trainer's schedule: warmup over ceil(0.1 x 4) = 1 step, then cosine to 0;
# Adam's t (updates) counts only steps that had tokens to train on.
python3 - "$T/s1/metrics.jsonl" <<'PY' && pass sdft_lr_schedule_and_updates || fail sdft_lr_schedule_and_updates "see above"
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = [1e-3, 1e-3, 1e-3 * 0.5 * (1 + math.cos(math.pi / 3)), 1e-3 * 0.5 * (1 + math.cos(2 * math.pi / 3))]
got = [r["lr"] for r in rows]
assert all(abs(g - w) < 1e-12 for g, w in zip(got, want)) and len(got) == 4, (got, want)
u = 0
for r in rows:
    u += r["tokens"] > 0
    assert r["updates"] == u, (r, u)
PY
# Pause after the first step, resume: the same published weights as uninterrupted.
mkdir -p "$T/p/control" && touch "$T/p/control/pause.request"
D --out "$T/p" >"$T/l3" 2>&1; rc=$?
D --out "$T/p" >>"$T/l3" 2>&1
[ $rc -eq 75 ] && [ "$(payload "$T/p/sdft_step_0000004/model.safetensors")" = "$(payload "$T/s1/sdft_step_0000004/model.safetensors")" ] \
  && pass sdft_pause_resume_bit_identical || fail sdft_pause_resume_bit_identical "rc=$rc $(tail -3 "$T/l3")"
# A kill between the two halves of a resume point (the state saved, its teacher not): the
# rerun does not take the half point; it finishes with the uninterrupted run's weights.
mkdir -p "$T/q/control" && touch "$T/q/control/pause.request"
D --out "$T/q" >"$T/l7" 2>&1
rm -rf "$T"/q/_resume/teacher_step_*
D --out "$T/q" >>"$T/l7" 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(payload "$T/q/sdft_step_0000004/model.safetensors")" = "$(payload "$T/s1/sdft_step_0000004/model.safetensors")" ] \
  && pass sdft_half_resume_point_not_taken || fail sdft_half_resume_point_not_taken "rc=$rc $(tail -3 "$T/l7")"
# The resume state reads back to the same doubles (17 digits): the metrics after the resume,
# val_ppl_rel_delta against the saved base perplexity included, are the uninterrupted run's.
cmp -s "$T/p/metrics.jsonl" "$T/s1/metrics.jsonl" \
  && diff <(grep -v '"published"' "$T/p/sdft_eval_report.json") <(grep -v '"published"' "$T/s1/sdft_eval_report.json") >/dev/null \
  && pass sdft_resume_same_metrics || fail sdft_resume_same_metrics "$(diff "$T/p/metrics.jsonl" "$T/s1/metrics.jsonl" | head -4)"
python3 - "$T/p/_run_tracker/events.jsonl" <<'PY' && pass sdft_checkpoint_events_name_their_step || fail sdft_checkpoint_events_name_their_step "see above"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"checkpoint"' in l]
assert ev, "no checkpoint events"
for e in ev: assert e["dir"].endswith("sdft_step_%07d" % e["step"]), e
PY
# Warm start: --init_from sets the starting weights (published as step 0); --ckpt stays the gate's base.
D --out "$T/warm" --init_from "$T/s1/sdft_latest" >"$T/l5" 2>&1
[ "$(payload "$T/warm/sdft_step_0000000/model.safetensors")" = "$(payload "$T/s1/sdft_step_0000004/model.safetensors")" ] \
  && python3 -c "import json; a=json.load(open('$T/warm/sdft_eval_report.json')); b=json.load(open('$T/s1/sdft_eval_report.json')); assert a['base_val_ppl']==b['base_val_ppl']" \
  && pass sdft_init_from_warm_start || fail sdft_init_from_warm_start "$(tail -2 "$T/l5")"
# Bad input.
: >"$T/empty.jsonl"
expect_err sdft_empty_demos 2 "empty.jsonl: no demonstrations: no discovered solution reached build-sdft's" D --out "$T/x1" --data "$T/empty.jsonl"
printf '{"task_id": 3}\n' >"$T/bad.jsonl"
expect_err sdft_malformed_demos 2 "bad.jsonl:1:" D --out "$T/x2" --data "$T/bad.jsonl"
expect_err sdft_bad_gates 2 "gates\[0\].green" D --out "$T/x3" --gates '[{"metric": "val_ppl_rel_delta", "green": "small"}]'
poison_bin "$O/data/packed/val.bin" "$T/badid.bin" 40
expect_err sdft_gate_bin_id_beyond_vocab 2 "badid.bin: byte 1104 \(token 40\): id 300 is not below the header's vocab 300" \
    D --out "$T/x5" --gate_val_bin "$T/badid.bin"
[ ! -e "$T/x5" ] && pass sdft_gate_bad_id_writes_nothing || fail sdft_gate_bad_id_writes_nothing "x5 was created"
$BIN/train-tokenizer --input "$O/data/raw/train.txt" --model_prefix "$T/big/t" --vocab_size 600 >/dev/null
expect_err sdft_tokenizer_model_mismatch 2 "vocab 600 differs from the model's 300" D --out "$T/x4" --tokenizer "$T/big/t.model"
