# The discovery suite (ttt) on a real pretrained checkpoint: compute-matched
# best-of-N, TTT artifacts (metrics, PEFT-named adapters), determinism, pause and
# resume to the same results, completed-run no-op, and bad input.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-B >"$T/b" 2>&1 || { fail phase_b_for_ttt "$(tail -3 "$T/b")"; exit 1; }
O=$T/out/ci
$BIN/gen-tasks --seed 0 --n_train 3 --n_heldout 4 --max_difficulty 2 --out_train "$T/tr.jsonl" --out_heldout "$T/he.jsonl" >/dev/null
S() { $BIN/ttt --tasks "$T/he.jsonl" --ckpt "$O/runs/pretrain_base/ckpt_latest" --tokenizer "$O/data/tokenizer/bpe300.model" \
        --ttt_steps 3 --rollouts 4 --max_new_tokens 8 --lora_rank 4 --lr 1e-3 --adapter_every 2 --threads 2 "$@"; }
strip() { python3 -c "import json,sys; [print(json.dumps({k:v for k,v in json.loads(l).items() if k!='seconds'}, sort_keys=True)) for l in open(sys.argv[1])]" "$1"; }

S --out_root "$T/bon" --mode bestofn >"$T/l1" 2>&1 && pass ttt_bestofn_runs || { fail ttt_bestofn_runs "$(tail -3 "$T/l1")"; exit 1; }
python3 - "$T/bon" <<'PY' && pass bestofn_compute_matched_results || fail bestofn_compute_matched_results "see above"
import json, sys, os
root = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(root, "summary.jsonl"))]
assert len(rows) == 4, len(rows)
for r in rows:
    res = json.load(open(os.path.join(root, r["task_id"], "result.json")))
    assert res["samples"] == 3 * 4 and len(res["curve"]) == 3, res
    assert 0 <= res["best_reward"] <= 1 and res["mode"] == "bestofn"
    assert [c[0] for c in res["curve"]] == [4, 8, 12]
    assert all(b <= a for b, a in zip([c[1] for c in res["curve"]], [c[1] for c in res["curve"]][1:]))
PY
S --out_root "$T/t1" --mode ttt >"$T/l2" 2>&1 && pass ttt_mode_runs || { fail ttt_mode_runs "$(tail -3 "$T/l2")"; exit 1; }
task=$(head -1 "$T/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
[ "$(wc -l <"$T/t1/$task/metrics.jsonl")" -eq 3 ] && [ -f "$T/t1/$task/adapter_step_2/lora.safetensors" ] && [ -f "$T/t1/$task/adapter_step_3/lora.safetensors" ] \
  && pass ttt_metrics_and_adapters || fail ttt_metrics_and_adapters "$(ls "$T/t1/$task")"
python3 - "$T/t1" "$(tail -1 "$T/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")" <<'PY' && pass ttt_heartbeat_live || fail ttt_heartbeat_live "see above"
import json, sys
lv = json.load(open(sys.argv[1] + "/_run_tracker/heartbeat.json"))["live"]
last = [json.loads(l) for l in open(sys.argv[1] + "/" + sys.argv[2] + "/metrics.jsonl")][-1]
assert lv["task_step"] == 3 and all(abs(lv[k] - last[k]) <= 1e-8 for k in ("mean_reward", "best_reward")), (lv, last)
PY
# Adam's t is the number of updates taken: it moves by one on a step that trained, never
# on a step whose groups all had constant rewards (no update).
python3 - "$T/t1" <<'PY' && pass ttt_adam_counts_updates || fail ttt_adam_counts_updates "see above"
import json, glob, sys
n = 0
for f in glob.glob(sys.argv[1] + "/*/metrics.jsonl"):
    prev = 0
    for r in map(json.loads, open(f)):
        d = r["updates"] - prev
        assert d in (0, 1) and (d == 0 or r["groups_used"] > 0), (f, r, prev)
        prev = r["updates"]; n += 1
assert n == 12, n
PY
/usr/bin/python3 - "$T/t1/$task/adapter_step_3/lora.safetensors" <<'PY' && pass lora_safetensors_peft_names || fail lora_safetensors_peft_names "see above"
import sys; sys.path.insert(0, "python")
import safetensors_np
t, meta = safetensors_np.load(sys.argv[1])
a = t["base_model.model.h.0.attn.c_attn.lora_A.weight"]; b = t["base_model.model.h.0.attn.c_attn.lora_B.weight"]
assert a.shape == (4, 32) and b.shape == (96, 4), (a.shape, b.shape)
assert meta["r"] == "4" and float(meta["lora_alpha"]) == 8.0 and len(t) == 2 * 4 * 2
PY
S --out_root "$T/t2" --mode ttt >/dev/null 2>&1
diff <(strip "$T/t1/summary.jsonl") <(strip "$T/t2/summary.jsonl") >/dev/null && cmp -s "$T/t1/$task/adapter_step_3/lora.safetensors" "$T/t2/$task/adapter_step_3/lora.safetensors" \
  && pass ttt_reproducible || fail ttt_reproducible "two runs with one seed differ"
S --out_root "$T/t3" --mode ttt --seed 1 >/dev/null 2>&1
! cmp -s "$T/t1/$task/adapter_step_3/lora.safetensors" "$T/t3/$task/adapter_step_3/lora.safetensors" && pass ttt_seed_matters || fail ttt_seed_matters "seed 0 == seed 1"

# Pause mid-suite, then the same command finishes with the same results.
mkdir -p "$T/p/control" && touch "$T/p/control/pause.request"
S --out_root "$T/p" --mode ttt >"$T/l3" 2>&1; rc=$?
grep -q '"step": 1' "$T/p/$task/state/state.json" && pass ttt_pause_saves_task_state || fail ttt_pause_saves_task_state "$(ls "$T/p/$task")"
S --out_root "$T/p" --mode ttt >>"$T/l3" 2>&1
[ $rc -eq 75 ] && diff <(strip "$T/t1/summary.jsonl") <(strip "$T/p/summary.jsonl") >/dev/null \
  && cmp -s "$T/t1/$task/adapter_step_3/lora.safetensors" "$T/p/$task/adapter_step_3/lora.safetensors" \
  && cmp -s "$T/t1/$task/metrics.jsonl" "$T/p/$task/metrics.jsonl" && [ ! -e "$T/p/$task/state" ] \
  && pass ttt_pause_resume_same_results || fail ttt_pause_resume_same_results "rc=$rc $(tail -3 "$T/l3")"
# A kill after a task's result.json was written but before its state/ was removed: the
# rerun keeps the result and clears the state (a finished task keeps no resume state).
cp -r "$T/t1" "$T/k"
mkdir -p "$T/k/$task/state" && echo '{"step": 1}' >"$T/k/$task/state/state.json"
python3 -c "import json,sys; p=sys.argv[1]; r=json.load(open(p)); r['status']='running'; json.dump(r, open(p,'w'))" "$T/k/run_record.json"
S --out_root "$T/k" --mode ttt >"$T/lk" 2>&1; rc=$?
[ $rc -eq 0 ] && [ ! -e "$T/k/$task/state" ] && cmp -s "$T/k/$task/result.json" "$T/t1/$task/result.json" \
  && pass ttt_finished_task_state_cleared || fail ttt_finished_task_state_cleared "rc=$rc $(ls "$T/k/$task") $(tail -2 "$T/lk")"
S --out_root "$T/t1" --mode ttt >"$T/l4" 2>&1 && grep -q "nothing to do" "$T/l4" && pass ttt_completed_is_noop || fail ttt_completed_is_noop "$(cat "$T/l4")"
# A run made before an option existed (its settings lack adam_eps and weight_decay): the
# new option at its default is no difference, so the completed run is still complete.
cp -r "$T/t1" "$T/old"
python3 -c "import json,sys; p=sys.argv[1]; s=json.load(open(p)); [s.pop(k) for k in ('adam_eps', 'weight_decay')]; json.dump(s, open(p,'w'))" \
  "$T/old/_run_tracker/settings.json"
S --out_root "$T/old" --mode ttt >"$T/l5" 2>&1 && grep -q "nothing to do" "$T/l5" && pass ttt_new_option_at_default_is_noop \
  || fail ttt_new_option_at_default_is_noop "$(cat "$T/l5")"
S --out_root "$T/old" --mode ttt --adam_eps 1e-6 >"$T/l6" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "completed with adam_eps (unset); now " "$T/l6" && pass ttt_new_option_changed_is_refused \
  || fail ttt_new_option_changed_is_refused "rc=$rc $(cat "$T/l6")"

# Common random numbers: at every step of every task, ttt with lr 0 draws what best-of-N
# draws (reuse 0) and what search draws (reuse 1): the same samples, tokens and rewards.
# Search is TTT minus learning; best-of-N and search share step 1 (the same state).
S --out_root "$T/crn_s" --mode search >"$T/lc1" 2>&1 && pass ttt_search_runs || fail ttt_search_runs "$(tail -2 "$T/lc1")"
S --out_root "$T/crn_t0" --mode ttt --lr 0 --reuse 0 >"$T/lc2" 2>&1
S --out_root "$T/crn_t1" --mode ttt --lr 0 --reuse 1 >"$T/lc3" 2>&1
cat >"$T/crn.py" <<'PY'
import json, sys, glob, os
def load(root):
    m = {}
    for f in sorted(glob.glob(root + "/*/metrics.jsonl")):
        rows = [{k: r[k] for k in ("step", "samples", "mean_reward", "max_reward", "best_reward", "tokens")} for r in map(json.loads, open(f))]
        res = json.load(open(os.path.join(os.path.dirname(f), "result.json")))
        m[os.path.basename(os.path.dirname(f))] = (rows, res["best_solution"], res["best_reward"], res["mean_reward"])
    return m
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == 4 and a == b, [(k, a[k], b.get(k)) for k in a if a[k] != b.get(k)][:1]
if len(sys.argv) > 3:   # first steps agree, later ones may not
    c = load(sys.argv[3])
    assert all(a[k][0][0] == c[k][0][0] for k in a)
PY
python3 "$T/crn.py" "$T/bon" "$T/crn_t0" "$T/crn_s" && pass crn_ttt_lr0_reuse0_is_bestofn || fail crn_ttt_lr0_reuse0_is_bestofn "$(tail -2 "$T/lc2")"
python3 "$T/crn.py" "$T/crn_s" "$T/crn_t1" && pass crn_ttt_lr0_reuse1_is_search || fail crn_ttt_lr0_reuse1_is_search "$(tail -2 "$T/lc3")"
[ -z "$(ls -d "$T"/crn_s/*/adapter_step_* 2>/dev/null)" ] && grep -q '"mode": "search"' "$T/crn_s/$task/result.json" \
  && pass search_has_no_adapter || fail search_has_no_adapter "$(ls "$T/crn_s/$task")"

# Bad input: one line, exit 2.
printf '{"id": "x", "family": "reach"}\n' >"$T/bad.jsonl"
expect_err ttt_malformed_tasks 2 "bad.jsonl:1:" S --out_root "$T/x1" --tasks "$T/bad.jsonl"
expect_err ttt_missing_ckpt 2 "nockpt" S --out_root "$T/x2" --ckpt "$T/nockpt"
expect_err ttt_rollouts_too_few 2 "rollouts: 1 is out of range" S --out_root "$T/x3" --rollouts 1
expect_err ttt_groups_must_divide 2 "groups_per_step: 3 does not divide rollouts 4" S --out_root "$T/x4" --groups_per_step 3
expect_err ttt_bad_mode 2 "mode: 'sample': expected bestofn, search or ttt" S --out_root "$T/x5" --mode sample
expect_err ttt_search_needs_reuse 2 "reuse: 0: search is PUCT reuse without learning" S --out_root "$T/x8" --mode search --reuse 0
expect_err ttt_bad_lr 2 "lr: 'fast': expected auto or a number in \[0, 10\]" S --out_root "$T/x6" --mode ttt --lr fast
expect_err ttt_negative_lr 2 "lr: '-1e-3': expected auto or a number" S --out_root "$T/x7" --mode ttt --lr -1e-3
# lr: auto is the reference's LoRA rule at the model's width (ci: d_model 32).
S --out_root "$T/auto" --mode ttt --lr auto --ttt_steps 1 >"$T/la" 2>&1
python3 -c "
import json,sys; r=json.load(open(sys.argv[1])); want=5e-4*(2000/32)**0.781
assert abs(r['lr']-want) < 1e-12*want, (r['lr'], want)" "$T/auto/run_record.json" && pass ttt_lr_auto_rule || fail ttt_lr_auto_rule "$(tail -2 "$T/la")"
$BIN/train-tokenizer --input "$O/data/raw/train.txt" --model_prefix "$T/big/t" --vocab_size 600 >/dev/null
expect_err ttt_tokenizer_model_mismatch 2 "vocab 600 differs from the model's 300" S --out_root "$T/x6" --tokenizer "$T/big/t.model"

# Gates on the run's summary: RED -> status gated, exit 3; a passing gate completes.
S --out_root "$T/g1" --mode bestofn --gates '[{"metric": "mean_best_reward", "green": ">=2"}]' >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q '"status": "gated"' "$T/g1/run_record.json" && pass ttt_gate_red || fail ttt_gate_red "rc=$rc"
# The one rule: a gated run stays stopped (exit 3, naming it) until --force moves it to .trash/.
S --out_root "$T/g1" --mode bestofn --gates '[{"metric": "mean_best_reward", "green": ">=2"}]' >"$T/gl2" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "g1: stopped by a RED gate" "$T/gl2" && pass ttt_gated_stays_stopped || fail ttt_gated_stays_stopped "rc=$rc $(cat "$T/gl2")"
S --out_root "$T/g1" --mode bestofn --gates '[{"metric": "mean_best_reward", "green": ">=0"}]' --force >"$T/gl3" 2>&1; rc=$?
[ $rc -eq 0 ] && ls -d "$T"/.trash/*/g1 >/dev/null 2>&1 && grep -q '"status": "completed"' "$T/g1/run_record.json" \
  && pass ttt_force_redoes_gated || fail ttt_force_redoes_gated "rc=$rc $(tail -2 "$T/gl3")"
S --out_root "$T/g2" --mode bestofn --gates '[{"metric": "mean_best_reward", "green": ">=0"}]' >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q '"event":"gate"' "$T/g2/_run_tracker/events.jsonl" && pass ttt_gate_green || fail ttt_gate_green "rc=$rc"
