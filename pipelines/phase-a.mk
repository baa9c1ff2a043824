# Phase A: corpus (A2), tokenizer and packed bins (A3).
A_TRAIN := $(D)/raw/train.txt
A_VAL   := $(D)/raw/val.txt
A_TOK   := $(D)/tokenizer/$(PIPE_TOKENIZER_NAME).model
A_BINS  := $(D)/packed/train.bin $(D)/packed/val.bin

# A2
$(A_TRAIN) $(A_VAL) &: $(CFG_STAMP) bin/gen-corpus
	bin/gen-corpus --config $(CONFIG) --train_out $(A_TRAIN) --val_out $(A_VAL)

# A3
$(A_TOK): $(A_TRAIN).sha256 $(CFG_STAMP) bin/train-tokenizer
	bin/train-tokenizer --config $(CONFIG) --input $(A_TRAIN) --model_prefix $(basename $(A_TOK)) --model_type bpe

$(D)/packed/%.bin: $(D)/raw/%.txt.sha256 $(A_TOK).sha256 $(CFG_STAMP) bin/pack-bins
	bin/pack-bins --config $(CONFIG) --tokenizer $(A_TOK) --input $(D)/raw/$*.txt --output $@ --append_eos 1

.PRECIOUS: $(A_TRAIN) $(A_VAL) $(A_TOK) $(A_BINS)
.PHONY: phase-A
phase-A: $(A_BINS)
