# Phase C: discovery tasks (C1) and the held-out suite (C2): best-of-N, search and
# TTT for seeds 0 and 1, and the ablations of the runbook, each its own run of
# `ttt` under runs/suite/<name>/ (expensive: completion records, FORCE=1 redoes).
C_TRAIN := $(D)/discovery/train.jsonl
C_HELD  := $(D)/discovery/heldout.jsonl
SUITE   := $(RUNS)/suite

# C1 (the target is the run's completion record: pipelines/phases.mk). --corpus: fails
# loudly if the pretraining text holds any train or held-out task's prompt.
$(call done,$(C_TRAIN)): $(A_TRAIN).sha256 $(CFG_STAMP) bin/gen-tasks $(call redo_if_missing,$(C_TRAIN) $(C_HELD))
	bin/gen-tasks --config $(CONFIG) --seed 0 --out_train $(C_TRAIN) --out_heldout $(C_HELD) --corpus $(A_TRAIN)
	@touch $@
$(call content_stamps,$(call done,$(C_TRAIN)),$(C_TRAIN) $(C_HELD))

# C2: $(call suite_run,NAME,TASKS,RUN_COMPLETE,SEED,FLAGS[,CKPT]); CKPT defaults to the run's ckpt_latest.
C_DEPS = $(2).sha256 $(A_TOK).sha256 $(3) $(CFG_STAMP) | bin/ttt
define suite_run
$(SUITE)/$(1)/.complete: $(C_DEPS)
	bin/ttt --config $(CONFIG) --tasks $(2) --ckpt $(if $(6),$(6),$(dir $(3))ckpt_latest) --tokenizer $(A_TOK) \
	  --out_root $(SUITE)/$(1) --seed $(4) $(5) $(DEVICE_FLAGS) $(FORCE_FLAGS)
	@touch $$@
endef
TTT_MAIN := --mode ttt --objective entropic --reuse 1 --adaptive_beta 1 --kl_lambda 0.1
C_RUNS := base_bestofn_seed0 base_bestofn_seed1 search_seed0 search_seed1 ttt_main_seed0 ttt_main_seed1 \
          ttt_reuse0_seed0 ttt_adapt0_seed0 ttt_kl0_seed0 ttt_expected_seed0
$(eval $(call suite_run,base_bestofn_seed0,$(C_HELD),$(B_BASE)/.complete,0,--mode bestofn))
$(eval $(call suite_run,base_bestofn_seed1,$(C_HELD),$(B_BASE)/.complete,1,--mode bestofn))
# Search: TTT main's start states, refinement prompts and budget without learning
# (common random numbers: the same draws as TTT wherever both are in the same state).
$(eval $(call suite_run,search_seed0,$(C_HELD),$(B_BASE)/.complete,0,--mode search --reuse 1))
$(eval $(call suite_run,search_seed1,$(C_HELD),$(B_BASE)/.complete,1,--mode search --reuse 1))
$(eval $(call suite_run,ttt_main_seed0,$(C_HELD),$(B_BASE)/.complete,0,$(TTT_MAIN)))
$(eval $(call suite_run,ttt_main_seed1,$(C_HELD),$(B_BASE)/.complete,1,$(TTT_MAIN)))
$(eval $(call suite_run,ttt_reuse0_seed0,$(C_HELD),$(B_BASE)/.complete,0,--mode ttt --objective entropic --reuse 0 --adaptive_beta 1 --kl_lambda 0.1))
$(eval $(call suite_run,ttt_adapt0_seed0,$(C_HELD),$(B_BASE)/.complete,0,--mode ttt --objective entropic --reuse 1 --adaptive_beta 0 --kl_lambda 0.1))
$(eval $(call suite_run,ttt_kl0_seed0,$(C_HELD),$(B_BASE)/.complete,0,--mode ttt --objective entropic --reuse 1 --adaptive_beta 1 --kl_lambda 0.0))
$(eval $(call suite_run,ttt_expected_seed0,$(C_HELD),$(B_BASE)/.complete,0,--mode ttt --objective expected --reuse 1 --adaptive_beta 1 --kl_lambda 0.1))

# D1 (run with phase C: same tool, same inputs): TTT on the train split, whose
# discoveries phase D distills.
$(eval $(call suite_run,ttt_train_seed0,$(C_TRAIN),$(B_BASE)/.complete,0,$(TTT_MAIN)))
C_RUNS += ttt_train_seed0

.PRECIOUS: $(call done,$(C_TRAIN)) $(foreach r,$(C_RUNS),$(SUITE)/$(r)/.complete)
.PHONY: phase-C
phase-C: phase-B $(foreach r,$(C_RUNS),$(SUITE)/$(r)/.complete)
