# Phase B: pretrain the base model (B1) and, on the same data, the mHC-off
# ablation the runbook requires before any mHC claim. Expensive runs: the
# target is a completion record the recipe writes after the tool succeeds; the
# tool itself resumes, refuses to redo a completed run whose inputs changed
# (FORCE=1 redoes it, moving the old run to .trash/), and never loses work.
B_BASE  := $(RUNS)/$(PIPE_PRETRAIN_RUN)
B_NOMHC := $(RUNS)/$(PIPE_PRETRAIN_NOMHC_RUN)
FORCE_FLAGS := $(if $(filter 1,$(FORCE)),--force)

B_DEPS := $(D)/packed/train.bin.sha256 $(D)/packed/val.bin.sha256 $(A_TOK).sha256 $(call settings,pretrain) | bin/pretrain

# B1
$(B_BASE)/.complete: $(B_DEPS) $(PIPE_MODEL)
	bin/pretrain --config $(CONFIG) --train_bin $(D)/packed/train.bin --val_bin $(D)/packed/val.bin \
	  --tokenizer $(A_TOK) --out $(B_BASE) --model $(PIPE_MODEL) $(DEVICE_FLAGS) $(FORCE_FLAGS)
	@touch $@

# B1, mHC off
$(B_NOMHC)/.complete: $(B_DEPS) $(PIPE_MODEL_NOMHC)
	bin/pretrain --config $(CONFIG) --train_bin $(D)/packed/train.bin --val_bin $(D)/packed/val.bin \
	  --tokenizer $(A_TOK) --out $(B_NOMHC) --model $(PIPE_MODEL_NOMHC) $(DEVICE_FLAGS) $(FORCE_FLAGS)
	@touch $@

.PRECIOUS: $(B_BASE)/.complete $(B_NOMHC)/.complete
.PHONY: phase-B
phase-B: phase-A $(B_BASE)/.complete $(B_NOMHC)/.complete
