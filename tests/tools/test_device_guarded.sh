# The device path without a GPU: --device cpu-guarded runs the CPU kernels with
# a GPU's memory discipline (kernels/cpu/kernels_guarded.c: device buffers are
# PROT_NONE outside the backend's calls, and every kernel argument must be a
# device buffer). Each compute tool must then give bitwise the CPU's files —
# weights, AdamW and LoRA state, suite results, distilled weights, retention —
# including across a pause and resume. A host read of a device buffer would crash.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-B >"$T/b" 2>&1 || { fail phase_b_for_guarded "$(tail -3 "$T/b")"; exit 1; }
O=$T/out/ci
CK=$O/runs/pretrain_base/ckpt_latest
TOK=$O/data/tokenizer/bpe300.model
G="--device cpu-guarded --threads 1"
strip() { python3 -c "import json,sys; [print(json.dumps({k:v for k,v in json.loads(l).items() if k not in ('seconds','tokens_per_s')}, sort_keys=True)) for l in open(sys.argv[1])]" "$1"; }

# pretrain: the same weights and AdamW state; a pause and resume on the guarded device too.
P() { $BIN/pretrain --train_bin "$O/data/packed/train.bin" --val_bin "$O/data/packed/val.bin" --model configs/model/ci.yaml \
        --steps 4 --seq_len 32 --micro_bs 2 --grad_accum 2 --eval_interval 2 --eval_batches 2 --ckpt_interval 2 "$@"; }
P --out "$T/p_cpu" >"$T/l1" 2>&1 && P --out "$T/p_dev" $G >"$T/l2" 2>&1 && pass pretrain_guarded_runs || { fail pretrain_guarded_runs "$(tail -3 "$T/l2")"; exit 1; }
cmp -s "$T/p_cpu/ckpt_latest/model.safetensors" "$T/p_dev/ckpt_latest/model.safetensors" \
  && cmp -s "$T/p_cpu/ckpt_latest/optim.safetensors" "$T/p_dev/ckpt_latest/optim.safetensors" \
  && diff <(strip "$T/p_cpu/metrics.jsonl") <(strip "$T/p_dev/metrics.jsonl") >/dev/null \
  && pass pretrain_guarded_bitwise_equal || fail pretrain_guarded_bitwise_equal "weights, optimizer state or metrics differ"
grep -q '"backend": "cpu-guarded"' "$T/p_dev/run_record.json" && pass run_record_names_device || fail run_record_names_device "$(grep -o '"device".\{0,80\}' "$T/p_dev/run_record.json")"
mkdir -p "$T/p_pause/control" && touch "$T/p_pause/control/pause.request"
P --out "$T/p_pause" $G >"$T/l3" 2>&1; rc=$?
P --out "$T/p_pause" $G >>"$T/l3" 2>&1
[ $rc -eq 75 ] && cmp -s "$T/p_cpu/ckpt_latest/model.safetensors" "$T/p_pause/ckpt_latest/model.safetensors" \
  && pass pretrain_guarded_pause_resume_bitwise || fail pretrain_guarded_pause_resume_bitwise "rc=$rc $(tail -3 "$T/l3")"
# A CPU checkpoint resumes on the device and the reverse: the files are the same.
mkdir -p "$T/p_x/control" && touch "$T/p_x/control/pause.request"
P --out "$T/p_x" >/dev/null 2>&1; rc=$?
[ $rc -eq 75 ] && P --out "$T/p_x" $G >"$T/l4" 2>&1 \
  && cmp -s "$T/p_cpu/ckpt_latest/model.safetensors" "$T/p_x/ckpt_latest/model.safetensors" \
  && pass checkpoint_moves_between_devices || fail checkpoint_moves_between_devices "rc=$rc $(tail -3 "$T/l4")"

# ttt: suite results and adapters; the task state (LoRA + its Adam state) across a pause.
$BIN/gen-tasks --seed 0 --n_train 2 --n_heldout 2 --max_difficulty 2 --out_train "$T/tr.jsonl" --out_heldout "$T/he.jsonl" >/dev/null
S() { $BIN/ttt --tasks "$T/he.jsonl" --ckpt "$CK" --tokenizer "$TOK" --ttt_steps 3 --rollouts 4 --max_new_tokens 8 \
        --lora_rank 4 --lr 1e-3 --adapter_every 1 --mode ttt "$@"; }
task=$(head -1 "$T/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
S --out_root "$T/t_cpu" >"$T/l5" 2>&1 && S --out_root "$T/t_dev" $G >"$T/l6" 2>&1 && pass ttt_guarded_runs || { fail ttt_guarded_runs "$(tail -3 "$T/l6")"; exit 1; }
diff <(strip "$T/t_cpu/summary.jsonl") <(strip "$T/t_dev/summary.jsonl") >/dev/null \
  && cmp -s "$T/t_cpu/$task/adapter_step_3/lora.safetensors" "$T/t_dev/$task/adapter_step_3/lora.safetensors" \
  && cmp -s "$T/t_cpu/$task/metrics.jsonl" "$T/t_dev/$task/metrics.jsonl" \
  && pass ttt_guarded_bitwise_equal || fail ttt_guarded_bitwise_equal "summary, adapters or metrics differ"
mkdir -p "$T/t_pause/control" && touch "$T/t_pause/control/pause.request"
S --out_root "$T/t_pause" $G >"$T/l7" 2>&1; rc=$?
S --out_root "$T/t_pause" $G >>"$T/l7" 2>&1
[ $rc -eq 75 ] && cmp -s "$T/t_cpu/$task/adapter_step_3/lora.safetensors" "$T/t_pause/$task/adapter_step_3/lora.safetensors" \
  && cmp -s "$T/t_cpu/$task/metrics.jsonl" "$T/t_pause/$task/metrics.jsonl" \
  && pass ttt_guarded_pause_resume_bitwise || fail ttt_guarded_pause_resume_bitwise "rc=$rc $(tail -3 "$T/l7")"

# sdft: student and EMA teacher on the device, logits read back for the KL.
$BIN/build-sdft --suite_root "$T/t_cpu" --tasks_jsonl "$T/he.jsonl" --out_jsonl "$T/demos.jsonl" --min_reward 0 >/dev/null 2>&1
D() { $BIN/sdft --ckpt "$CK" --tokenizer "$TOK" --data "$T/demos.jsonl" --gate_val_bin "$O/data/packed/val.bin" \
        --gate_val_seq_len 32 --gate_val_bs 2 --gate_val_batches 2 --gate_every 2 --steps 2 --lr 1e-3 --max_new_tokens 8 --best_of_k 2 "$@"; }
D --out "$T/s_cpu" >"$T/l8" 2>&1 && D --out "$T/s_dev" $G >"$T/l9" 2>&1 && pass sdft_guarded_runs || fail sdft_guarded_runs "$(tail -3 "$T/l9")"
cmp -s "$T/s_cpu/sdft_latest/model.safetensors" "$T/s_dev/sdft_latest/model.safetensors" \
  && diff <(strip "$T/s_cpu/metrics.jsonl") <(strip "$T/s_dev/metrics.jsonl") >/dev/null \
  && pass sdft_guarded_bitwise_equal || fail sdft_guarded_bitwise_equal "distilled weights or metrics differ"

# retention
R() { $BIN/retention --base_ckpt "$CK" --base_cfg "$O/runs/pretrain_base/model_config.json" --updated_ckpt "$T/p_cpu/ckpt_latest" \
        --updated_cfg "$T/p_cpu/model_config.json" --val_bin "$O/data/packed/val.bin" --seq_len 32 --batch_size 2 --max_batches 3 "$@"; }
R --out "$T/r_cpu.json" >/dev/null 2>&1 && R --out "$T/r_dev.json" $G >"$T/l10" 2>&1 \
  && python3 -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); assert a['base_ppl']==b['base_ppl'] and a['updated_ppl']==b['updated_ppl'], (a,b)" "$T/r_cpu.json" "$T/r_dev.json" \
  && pass retention_guarded_bitwise_equal || fail retention_guarded_bitwise_equal "$(tail -3 "$T/l10")"
