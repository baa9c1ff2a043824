# The A-F pipeline for one config. Targets are artifacts; tools are invoked with
# the runbook's flags. Included by GNUmakefile.
#   CONFIG=configs/tiny.yaml (default)  ->  outputs under $(OUT_ROOT)/tiny/
#   DEVICE=cpu|cuda overrides the config's device for pretrain, ttt, sdft, retention
CONFIG   ?= configs/tiny.yaml
OUT_ROOT ?= out
NAME     := $(basename $(notdir $(CONFIG)))
OUT      := $(OUT_ROOT)/$(NAME)
D        := $(OUT)/data
RUNS     := $(OUT)/runs
DEVICE_FLAGS := $(if $(DEVICE),--device $(DEVICE))
empty :=
space := $(empty) $(empty)

# Content stamps: X.sha256 changes only when X's bytes change, so touching a
# file (mtime only) reruns nothing downstream; a real change propagates.
# Stamps are written whole (temp file, then rename): a kill never leaves half a hash.
SHA_RECIPE = @h=$$(sha256sum "$(1)" | cut -c1-64); [ -f "$@" ] && [ "$$(cat "$@")" = "$$h" ] || { echo "$$h" > "$@.tmp" && mv -f "$@.tmp" "$@"; }

# Settings stamps: $(call settings,SECTION) = $(SET)/SECTION.json, that section's resolved
# settings, rewritten by pipeline-vars only when they change (with .pipeline.mk, whenever
# the config changes). Each rule depends on the sections its tool reads, so editing one
# section reruns only the runs that read it (threads and cost_per_hour are in none).
SET := $(OUT)/.settings
settings = $(SET)/$(1).json
$(SET)/%.json: | bin/pipeline-vars
	@mkdir -p $(@D)
	@bin/pipeline-vars --settings_dir $(SET) --config $(CONFIG) >/dev/null

# An output and its completion are one commit as Make sees it (docs/operations.md):
# the target of a tool's rule is its run's completion record, $(call done,OUT) =
# <dir>/_runs/<name>/.complete, touched by the recipe after the tool exited 0. An
# output renamed into place by a run that was killed before completing has no
# record, so the same command redoes the run; a consumer never sees it. Consumers
# depend on the content stamp OUT.sha256 (rewritten only when OUT's bytes change),
# which depends on the record (and on OUT itself while it exists, so an edit by hand
# is seen); an output missing when Make starts redoes its run. Outputs themselves are
# never Make targets.
done = $(dir $(1))_runs/$(notdir $(1))/.complete
redo_if_missing = $(if $(strip $(foreach f,$(1),$(if $(wildcard $(f)),,x))),.FORCE)
# $(call content_stamps,DONE,FILES): FILE.sha256 for each FILE written by the run of DONE.
define content_stamp
$(2).sha256: $(1) $(wildcard $(2))
	$$(call SHA_RECIPE,$(2))
.PRECIOUS: $(2).sha256
endef
content_stamps = $(foreach f,$(2),$(eval $(call content_stamp,$(1),$(f))))
.PHONY: .FORCE

# The config's `pipeline:` names (run names, tokenizer name) as PIPE_* variables.
ifneq ($(filter phase-% check tune,$(MAKECMDGOALS)),)
$(OUT)/.pipeline.mk: $(CONFIG) bin/pipeline-vars
	@mkdir -p $(@D)
	bin/pipeline-vars --settings_dir $(SET) --config $(CONFIG) > $@.tmp && mv $@.tmp $@
include $(OUT)/.pipeline.mk
# Only once the PIPE_* names exist: on the first pass make writes .pipeline.mk and
# restarts, and the phase rules read without them would name empty run directories.
ifneq ($(wildcard $(OUT)/.pipeline.mk),)
include pipelines/phase-a.mk
include pipelines/phase-b.mk
ifeq ($(PIPE_OWN_CORPUS),1)
include pipelines/own-text.mk
else
include pipelines/phase-c.mk
include pipelines/phase-d.mk
include pipelines/phase-e.mk
include pipelines/phase-f.mk
endif
endif
endif

.PHONY: check clean pause status report tune
# Tuning on the train split only (docs/sweeps.md, "Tuning"): every
# configs/sweeps/<NAME>_tune_*.yaml in name order, on this config's base checkpoint and
# train tasks; each sweep's --report goes to configs/sweeps/<sweep>.report.txt, kept
# in the repo. The held-out split is never read. A sweep already begun is resumed
# (--resume: a killed trial is retried, a finished sweep reruns nothing).
TUNE_SWEEPS = $(sort $(wildcard configs/sweeps/$(NAME)_tune_*.yaml))
tune: bin/sweep $(if $(TUNE_SWEEPS),$(B_BASE)/.complete $(call done,$(D)/discovery/train.jsonl))
	@$(if $(TUNE_SWEEPS),,echo "$(NAME): no tuning sweeps (configs/sweeps/$(NAME)_tune_*.yaml)"; exit 0;) \
	for s in $(TUNE_SWEEPS); do n=$$(basename $$s .yaml); \
	  SWEEP_DATA=$(D) SWEEP_RUNS=$(RUNS) bin/sweep --sweep_config $$s --out_root $(OUT)/sweeps/$$n --workers 1 \
	    $$([ -e $(OUT)/sweeps/$$n/journal.log ] && echo --resume) || exit $$?; \
	  bin/sweep --report --out_root $(OUT)/sweeps/$$n --top_k 10 > configs/sweeps/$$n.report.txt.tmp && \
	  mv configs/sweeps/$$n.report.txt.tmp configs/sweeps/$$n.report.txt && echo "tune: configs/sweeps/$$n.report.txt" || exit $$?; done
# Every run of the config: phase, status, progress, ETA, heartbeat age (crashed = stale, pid gone).
# Before any run there is nothing to show: say so (exit 0) rather than fail on a missing dir.
NOTHING_YET = echo "$(NAME): nothing yet: no runs under $(OUT) (make phase-F CONFIG=$(CONFIG) starts them)"
status: bin/watch
	@if [ -d $(OUT) ]; then bin/watch --root $(OUT); else $(NOTHING_YET); fi
# The same, plus time and cost estimate summed per tool.
report: bin/watch
	@if [ -d $(OUT) ]; then bin/watch --root $(OUT) --costs 1; else $(NOTHING_YET); fi
# Ask every live run of the config to pause (each checkpoints and exits 75).
pause:
	@n=0; for hb in $$(find $(OUT) -path '*/_run_tracker/heartbeat.json' 2>/dev/null); do \
	  d=$${hb%/_run_tracker/heartbeat.json}; \
	  if grep -q '"status": "running"' "$$hb"; then mkdir -p "$$d/control"; touch "$$d/control/pause.request"; \
	    echo "pause requested: $$d"; n=$$((n+1)); fi; done; echo "$$n live run(s) asked to pause"
check: bin/check-artifacts
	bin/check-artifacts --config $(CONFIG) --root $(OUT) --manifest pipelines/artifacts.txt --phases $(PHASES)
PHASES ?= $(if $(filter 1,$(PIPE_OWN_CORPUS)),AB,ABCDEF)

# Never delete: move the whole config's outputs aside.
clean:
	@if [ -d $(OUT) ]; then t=.trash/$$(date -u +%Y%m%dT%H%M%SZ)-$(NAME); mkdir -p .trash; mv $(OUT) $$t; echo "moved $(OUT) to $$t"; else echo "nothing to clean for $(NAME)"; fi
