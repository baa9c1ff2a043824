# Phase F: figures (F1) and the paper's tables, macros and results registry (F2),
# all from the run outputs. Cheap: redone whenever a run it reads was redone.
F_PAPER := $(OUT)/paper
F_INPUTS := $(B_BASE)/.complete $(B_NOMHC)/.complete $(foreach r,$(C_RUNS) $(E_RUNS),$(SUITE)/$(r)/.complete) \
            $(D_SDFT)/.complete $(call done,$(E_RET))

# F1 + F2
$(F_PAPER)/.complete: $(F_INPUTS) $(call settings,plot) $(call settings,pipeline) bin/plot
	bin/plot --config $(CONFIG) --runs_dir $(RUNS) --fig_dir $(F_PAPER)/figs
	@touch $@

.PRECIOUS: $(F_PAPER)/.complete
.PHONY: phase-F
phase-F: phase-E $(F_PAPER)/.complete
