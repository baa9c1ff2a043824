# Data-parallel pretrain under OpenMPI (make MPI=1; docs/scale.md): 2 ranks x
# micro_bs 2 match 1 process x micro_bs 4 (loss curve within float tolerance);
# a pause reaches every rank (all stop at one step, exit 75); the resume may use
# a different rank count.
. "$(dirname "$0")/lib.sh"
command -v mpirun >/dev/null && command -v mpicc >/dev/null || { fail mpi_toolchain "mpirun/mpicc missing: run make deps"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make --no-print-directory -s -C "$ROOT" MPI=1 BUILD="$T/build" BINDIR="$T/bin" "$T/bin/pretrain" >"$T/build.log" 2>&1 \
  && pass make_mpi_builds || { fail make_mpi_builds "$(tail -5 "$T/build.log")"; exit 1; }
cd "$T"
$BIN/gen-corpus --train_lines 3000 --val_lines 300 --train_out d/train.txt --val_out d/val.txt >/dev/null
$BIN/train-tokenizer --input d/train.txt --model_prefix d/tok --vocab_size 300 >/dev/null
$BIN/pack-bins --tokenizer d/tok.model --input d/train.txt --output d/train.bin >/dev/null
$BIN/pack-bins --tokenizer d/tok.model --input d/val.txt --output d/val.bin >/dev/null
A="--train_bin d/train.bin --val_bin d/val.bin --model $ROOT/configs/model/ci.yaml --steps 12 --seq_len 32 --grad_accum 2 --eval_interval 6 --eval_batches 2 --ckpt_interval 4 --threads 1"
close() { python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
assert [r["step"] for r in a] == [r["step"] for r in b], "steps differ"
err = max(abs(x["loss"] - y["loss"]) / abs(x["loss"]) for x, y in zip(a, b))
print(f"max relative loss difference {err:.2e}")
sys.exit(0 if err <= float(sys.argv[3]) else 1)
PY
}
"$T/bin/pretrain" $A --out single --micro_bs 4 >single.log 2>&1
mpirun -np 2 --oversubscribe "$T/bin/pretrain" $A --out dp --micro_bs 2 >dp.log 2>&1; rc=$?
[ $rc -eq 0 ] && close single/metrics.jsonl dp/metrics.jsonl 1e-5 >cmp.txt && pass two_ranks_match_one_process || fail two_ranks_match_one_process "rc=$rc $(cat cmp.txt) $(tail -3 dp.log)"
[ "$(grep -c "pretrain: done" dp.log)" -eq 1 ] && [ ! -e dp/_ranks/rank_1/ckpt_latest ] && grep -q '"ranks": 2' dp/run_record.json \
  && pass rank0_writes_outputs || fail rank0_writes_outputs "$(grep -c 'pretrain: done' dp.log) done lines"
# Pause seen by every rank; resume with 1 rank (micro_bs 4: the same global batch).
mkdir -p pz/control && touch pz/control/pause.request
mpirun -np 2 --oversubscribe "$T/bin/pretrain" $A --out pz --micro_bs 2 >pz.log 2>&1; rc=$?
[ $rc -eq 75 ] && [ -f pz/control/pause_ack.json ] && [ -f pz/_ranks/rank_1/control/pause_ack.json ] \
  && pass pause_stops_all_ranks || fail pause_stops_all_ranks "rc=$rc $(tail -3 pz.log)"
"$T/bin/pretrain" $A --out pz --micro_bs 4 >>pz.log 2>&1; rc=$?
[ $rc -eq 0 ] && close single/metrics.jsonl pz/metrics.jsonl 1e-5 >cmp2.txt && pass resume_with_other_rank_count || fail resume_with_other_rank_count "rc=$rc $(cat cmp2.txt)"
