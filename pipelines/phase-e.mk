# Phase E: post-consolidation evaluation. E1: held-out best-of-N with the
# consolidated checkpoint (the config's pipeline.seeds); E2: retention (val perplexity of
# the base vs the consolidated model).
E_RET := $(SUITE)/retention_ppl.json

# E1
$(foreach s,$(PIPE_SEEDS),$(eval $(call suite_run,$(PIPE_SDFT_BESTOFN_RUN)_seed$(s),$(C_HELD),$(D_SDFT)/.complete,$(s),--mode bestofn,$(D_SDFT)/sdft_latest)))
E_RUNS := $(foreach s,$(PIPE_SEEDS),$(PIPE_SDFT_BESTOFN_RUN)_seed$(s))

# E2
$(call done,$(E_RET)): $(D_SDFT)/.complete $(B_BASE)/.complete $(D)/packed/val.bin.sha256 $(call settings,retention) bin/retention $(call redo_if_missing,$(E_RET))
	bin/retention --config $(CONFIG) --base_ckpt $(B_BASE)/ckpt_latest --base_cfg $(B_BASE)/model_config.json \
	  --updated_ckpt $(D_SDFT)/sdft_latest --updated_cfg $(D_SDFT)/model_config.json \
	  --val_bin $(D)/packed/val.bin $(DEVICE_FLAGS) --out $(E_RET)
	@touch $@

.PRECIOUS: $(call done,$(E_RET)) $(foreach r,$(E_RUNS),$(SUITE)/$(r)/.complete)
.PHONY: phase-E
phase-E: phase-D $(foreach r,$(E_RUNS),$(SUITE)/$(r)/.complete) $(call done,$(E_RET))
