# Phase C: discovery tasks (C1) and the held-out suite (C2): best-of-N, search and
# TTT at the config's seeds, and the ablations of the runbook, each its own run of
# `ttt` under runs/suite/<name>/ (expensive: completion records, FORCE=1 redoes).
C_TRAIN := $(D)/discovery/train.jsonl
C_HELD  := $(D)/discovery/heldout.jsonl
SUITE   := $(RUNS)/suite

# C1 (the target is the run's completion record: pipelines/phases.mk). --corpus: fails
# loudly if the pretraining text holds any train or held-out task's prompt.
$(call done,$(C_TRAIN)): $(A_TRAIN).sha256 $(call settings,gen_tasks) bin/gen-tasks $(call redo_if_missing,$(C_TRAIN) $(C_HELD))
	bin/gen-tasks --config $(CONFIG) --seed 0 --out_train $(C_TRAIN) --out_heldout $(C_HELD) --corpus $(A_TRAIN)
	@touch $@
$(call content_stamps,$(call done,$(C_TRAIN)),$(C_TRAIN) $(C_HELD))

# C2: $(call suite_run,NAME,TASKS,RUN_COMPLETE,SEED,FLAGS[,CKPT]); CKPT defaults to the run's ckpt_latest.
C_DEPS = $(2).sha256 $(A_TOK).sha256 $(3) $(call settings,ttt) | bin/ttt
define suite_run
$(SUITE)/$(1)/.complete: $(C_DEPS)
	bin/ttt --config $(CONFIG) --tasks $(2) --ckpt $(if $(6),$(6),$(dir $(3))ckpt_latest) --tokenizer $(A_TOK) \
	  --out_root $(SUITE)/$(1) --seed $(4) $(5) $(DEVICE_FLAGS) $(FORCE_FLAGS)
	@touch $$@
endef
TTT_MAIN := --mode ttt --objective entropic --reuse 1 --adaptive_beta 1 --kl_lambda 0.1
# The main methods at every seed of the config's pipeline.seeds, the ablations at its
# pipeline.ablation_seeds (pipeline-vars: PIPE_SEEDS, PIPE_ABLATION_SEEDS).
C_MAIN := base_bestofn:--mode=bestofn search:--mode=search=--reuse=1 ttt_main:$(subst $(space),=,$(TTT_MAIN))
C_ABL  := ttt_reuse0:--mode=ttt=--objective=entropic=--reuse=0=--adaptive_beta=1=--kl_lambda=0.1 \
          ttt_adapt0:--mode=ttt=--objective=entropic=--reuse=1=--adaptive_beta=0=--kl_lambda=0.1 \
          ttt_kl0:--mode=ttt=--objective=entropic=--reuse=1=--adaptive_beta=1=--kl_lambda=0.0 \
          ttt_expected:--mode=ttt=--objective=expected=--reuse=1=--adaptive_beta=1=--kl_lambda=0.1
# $(call suite_seeds,METHODS,SEEDS): a suite_run per METHOD:FLAGS (spaces as '=') and seed.
# Search: TTT main's start states, refinement prompts and budget without learning
# (common random numbers: the same draws as TTT wherever both are in the same state).
suite_seeds = $(foreach m,$(1),$(foreach s,$(2),$(eval $(call suite_run,$(word 1,$(subst :, ,$(m)))_seed$(s),$(C_HELD),$(B_BASE)/.complete,$(s),$(subst =, ,$(word 2,$(subst :, ,$(m))))))))
C_RUNS := $(foreach m,$(C_MAIN),$(foreach s,$(PIPE_SEEDS),$(word 1,$(subst :, ,$(m)))_seed$(s))) \
          $(foreach m,$(C_ABL),$(foreach s,$(PIPE_ABLATION_SEEDS),$(word 1,$(subst :, ,$(m)))_seed$(s)))
$(call suite_seeds,$(C_MAIN),$(PIPE_SEEDS))
$(call suite_seeds,$(C_ABL),$(PIPE_ABLATION_SEEDS))

# D1 (run with phase C: same tool, same inputs): TTT on the train split, whose
# discoveries phase D distills. With search on the same tasks it is also the learning
# check (report: TTT's reward climb over its steps minus search's, paired over tasks).
$(eval $(call suite_run,ttt_train_seed0,$(C_TRAIN),$(B_BASE)/.complete,0,$(TTT_MAIN)))
$(eval $(call suite_run,search_train_seed0,$(C_TRAIN),$(B_BASE)/.complete,0,--mode search --reuse 1))
C_RUNS += ttt_train_seed0 search_train_seed0

.PRECIOUS: $(call done,$(C_TRAIN)) $(foreach r,$(C_RUNS),$(SUITE)/$(r)/.complete)
.PHONY: phase-C
phase-C: phase-B $(foreach r,$(C_RUNS),$(SUITE)/$(r)/.complete)
