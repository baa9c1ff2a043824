# Gates (SPEC §8): the gate tool's verdicts and exit codes on JSON and JSONL,
# and pretrain's `gates:` with on_red: stop (exit 3, status gated, stays stopped
# on rerun, downstream refuses its checkpoint).
. "$(dirname "$0")/lib.sh"
cd "$T"
printf '{"step":1,"val_loss":3.5}\n{"step":2,"loss":3.0}\n{"step":3,"val_loss":3.2}\n' >m.jsonl
printf '{"val_ppl_rel_delta": 0.2}\n' >r.json
$BIN/gate --metrics m.jsonl --spec '[{"metric":"val_loss","green":"<=3.1","amber":"<=3.4"}]' >o1; rc=$?
[ $rc -eq 0 ] && grep -q "AMBER val_loss = 3.2 at step 3" o1 && pass gate_amber_exit_0 || fail gate_amber_exit_0 "rc=$rc $(cat o1)"
$BIN/gate --metrics m.jsonl --spec '[{"at":3,"metric":"val_loss","green":"<=3.3"}]' >o2; rc=$?
[ $rc -eq 0 ] && grep -q "^GREEN" o2 && pass gate_green_exit_0 || fail gate_green_exit_0 "rc=$rc"
$BIN/gate --metrics m.jsonl --spec '[{"at":1,"metric":"val_loss","green":"<=3.1","amber":"<=3.4"}]' >o3; rc=$?
[ $rc -eq 3 ] && grep -q "^RED" o3 && pass gate_red_exit_3 || fail gate_red_exit_3 "rc=$rc"
$BIN/gate --metrics r.json --spec '[{"metric":"val_ppl_rel_delta","green":"<=0.05","amber":"<=0.1"}]' >/dev/null; rc=$?
[ $rc -eq 3 ] && pass gate_any_json_file || fail gate_any_json_file "rc=$rc"
expect_err gate_metric_missing 2 "m.jsonl: no 'val_loss' at step 2" $BIN/gate --metrics m.jsonl --spec '[{"at":2,"metric":"val_loss","green":"<=1"}]'
expect_err gate_bad_spec 2 "gates\[0\].green" $BIN/gate --metrics m.jsonl --spec '[{"metric":"val_loss","green":"soon"}]'
expect_err gate_missing_file 2 "nope.json" $BIN/gate --metrics nope.json --spec '[{"metric":"x","green":"<=1"}]'

# pretrain with a gate that must fail.
$BIN/gen-corpus --train_lines 2000 --val_lines 200 --train_out d/train.txt --val_out d/val.txt >/dev/null
$BIN/train-tokenizer --input d/train.txt --model_prefix d/tok --vocab_size 300 >/dev/null
$BIN/pack-bins --tokenizer d/tok.model --input d/train.txt --output d/train.bin >/dev/null
$BIN/pack-bins --tokenizer d/tok.model --input d/val.txt --output d/val.bin >/dev/null
P() { $BIN/pretrain --train_bin d/train.bin --val_bin d/val.bin --model "$ROOT/configs/model/ci.yaml" --out run --steps 20 --seq_len 32 \
        --micro_bs 2 --grad_accum 1 --eval_interval 5 --eval_batches 1 --ckpt_interval 10 \
        --gates '[{"at": 5, "metric": "val_loss", "green": "<=0.5", "on_red": "stop"}]' "$@"; }
P >p1.log 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q '"status": "gated"' run/run_record.json && grep -q '"event":"gate"' run/_run_tracker/events.jsonl \
  && grep -q '"gate":"RED"' run/metrics.jsonl && pass pretrain_gate_red_stops || fail pretrain_gate_red_stops "rc=$rc $(tail -2 p1.log)"
P >p2.log 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "stopped by a RED gate" p2.log && pass gated_run_stays_stopped || fail gated_run_stays_stopped "rc=$rc $(cat p2.log)"
$BIN/gen-tasks --n_train 1 --n_heldout 2 --max_difficulty 1 --out_train tr.jsonl --out_heldout he.jsonl >/dev/null
expect_err downstream_refuses_gated 2 "run, which is 'gated'" $BIN/ttt --tasks he.jsonl --ckpt run/ckpt_latest --tokenizer d/tok.model \
    --out_root s --ttt_steps 1 --rollouts 2 --max_new_tokens 4
P --no-resume --force >p3.log 2>&1; rc=$?
[ $rc -eq 3 ] && ls -d .trash/*/run >/dev/null 2>&1 && pass force_redoes_gated_run || fail force_redoes_gated_run "rc=$rc"
