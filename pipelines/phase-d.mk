# Phase D: distillation. D1 (TTT on the train split) runs with phase C;
# D2 keeps the discovered solutions that reach min_reward; D3 consolidates them
# into the base weights with SDFT under the val-perplexity gate.
D_DEMOS := $(D)/sdft/from_ttt_train.jsonl
D_SDFT  := $(RUNS)/$(PIPE_SDFT_RUN)

# D2
$(call done,$(D_DEMOS)): $(SUITE)/ttt_train_seed0/.complete $(C_TRAIN).sha256 $(call settings,build_sdft) bin/build-sdft $(call redo_if_missing,$(D_DEMOS))
	bin/build-sdft --config $(CONFIG) --suite_root $(SUITE)/ttt_train_seed0 --tasks_jsonl $(C_TRAIN) --out_jsonl $(D_DEMOS)
	@touch $@
$(call content_stamps,$(call done,$(D_DEMOS)),$(D_DEMOS))

# D3
$(D_SDFT)/.complete: $(D_DEMOS).sha256 $(B_BASE)/.complete $(A_TOK).sha256 $(D)/packed/val.bin.sha256 $(call settings,sdft) | bin/sdft
	bin/sdft --config $(CONFIG) --ckpt $(B_BASE)/ckpt_latest --tokenizer $(A_TOK) --data $(D_DEMOS) \
	  --out $(D_SDFT) --gate_val_bin $(D)/packed/val.bin $(DEVICE_FLAGS) $(FORCE_FLAGS)
	@touch $@

.PRECIOUS: $(call done,$(D_DEMOS)) $(D_SDFT)/.complete
.PHONY: phase-D
phase-D: phase-C $(D_SDFT)/.complete
