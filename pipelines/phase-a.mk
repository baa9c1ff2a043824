# Phase A: corpus (A2), tokenizer and packed bins (A3). Each rule's target is its
# run's completion record; consumers read content stamps (pipelines/phases.mk).
A_TRAIN := $(D)/raw/train.txt
A_VAL   := $(D)/raw/val.txt
A_TOK   := $(D)/tokenizer/$(PIPE_TOKENIZER_NAME).model
A_BINS  := $(D)/packed/train.bin $(D)/packed/val.bin

# A2: the synthetic corpus, or with `corpus: {train, val}` in the config your own text,
# copied in (import-corpus; its hashes in provenance). Neither overwrites a file placed
# in data/raw/ by hand.
ifeq ($(PIPE_OWN_CORPUS),1)
$(call done,$(A_TRAIN)): $(PIPE_CORPUS_TRAIN) $(PIPE_CORPUS_VAL) $(call settings,corpus) bin/import-corpus $(call redo_if_missing,$(A_TRAIN) $(A_VAL))
	bin/import-corpus --config $(CONFIG) --train_out $(A_TRAIN) --val_out $(A_VAL)
	@touch $@
else
$(call done,$(A_TRAIN)): $(call settings,gen_corpus) bin/gen-corpus $(call redo_if_missing,$(A_TRAIN) $(A_VAL))
	bin/gen-corpus --config $(CONFIG) --train_out $(A_TRAIN) --val_out $(A_VAL)
	@touch $@
endif
$(call content_stamps,$(call done,$(A_TRAIN)),$(A_TRAIN) $(A_VAL))

# A3
$(call done,$(A_TOK)): $(A_TRAIN).sha256 $(call settings,train_tokenizer) bin/train-tokenizer $(call redo_if_missing,$(A_TOK))
	bin/train-tokenizer --config $(CONFIG) --input $(A_TRAIN) --model_prefix $(basename $(A_TOK)) --model_type bpe
	@touch $@
$(call content_stamps,$(call done,$(A_TOK)),$(A_TOK))

define pack_bin
$(call done,$(D)/packed/$(1).bin): $(D)/raw/$(1).txt.sha256 $(A_TOK).sha256 $(call settings,pack_bins) bin/pack-bins $(call redo_if_missing,$(D)/packed/$(1).bin)
	bin/pack-bins --config $(CONFIG) --tokenizer $(A_TOK) --input $(D)/raw/$(1).txt --output $(D)/packed/$(1).bin --append_eos 1
	@touch $$@
$(call content_stamps,$(call done,$(D)/packed/$(1).bin),$(D)/packed/$(1).bin)
endef
$(foreach s,train val,$(eval $(call pack_bin,$(s))))

A_DONE := $(call done,$(A_TRAIN)) $(call done,$(A_TOK)) $(foreach b,$(A_BINS),$(call done,$(b)))
.PRECIOUS: $(A_DONE)
.PHONY: phase-A
phase-A: $(foreach b,$(A_BINS),$(b).sha256)
