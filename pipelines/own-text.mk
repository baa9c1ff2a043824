# With `corpus: {train, val}` in the config (docs/operations.md, "Your own text"): phases A
# and B run on your text, and phase F draws what they made (the pretraining figures, the
# mHC table). The discovery suite (C), distillation (D) and the post-distillation
# evaluation (E, retention included: there is no distilled model to compare) need the
# synthetic task language, so they do not run: phase-C, -D and -E refuse, naming why.
OWN_WHY := the discovery suite needs the synthetic task language, and $(CONFIG) sets corpus: (your own text)
F_PAPER := $(OUT)/paper

.PHONY: phase-C phase-D phase-E phase-F
phase-C phase-D phase-E:
	@echo "make $@: refused: $(OWN_WHY); phases A, B and F run on it (make phase-F)" >&2; exit 2

$(F_PAPER)/.complete: $(B_BASE)/.complete $(B_NOMHC)/.complete $(call settings,plot) $(call settings,pipeline) bin/plot
	bin/plot --config $(CONFIG) --runs_dir $(RUNS) --fig_dir $(F_PAPER)/figs
	@touch $@

.PRECIOUS: $(F_PAPER)/.complete
phase-F: phase-B $(F_PAPER)/.complete
	@echo "phase-F: phases A, B and F on your own text ($(PIPE_CORPUS_TRAIN), $(PIPE_CORPUS_VAL)); the discovery suite, SDFT and retention (C-E) were skipped: $(OWN_WHY)"
