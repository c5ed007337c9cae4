# zhen: `make` translates every corpus/*.txt into out/<name>.tmx and out/<name>.po.
# Only documents that changed since their outputs were written are redone.

VENV    ?= .venv
PYTHON  ?= $(VENV)/bin/python
ZHEN    ?= $(PYTHON) -m pipeline
# A MarianMT directory or hub id. The default is downloaded on first use.
MODEL   ?= models/opus-mt-zh-en
OUT     ?= out
# Extra options for `zhen run`, e.g. ZHEN_OPTS="--beams 1 --device cuda".
ZHEN_OPTS ?=
# Pinned: an unpinned torch pulls a multi-GB CUDA build. On this project's
# machines pip takes the CPU wheel from local disk; elsewhere add
# TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU build.
TORCH   ?= torch==2.13.0
TORCH_INDEX ?=

DEFAULT_MODEL_DIR := models/opus-mt-zh-en
INPUTS  := $(wildcard corpus/*.txt)
OUTPUTS := $(foreach f,$(INPUTS:corpus/%.txt=$(OUT)/%),$(f).tmx $(f).po)

.PHONY: all setup test model tiny-model clean help

all: $(OUTPUTS)

# Download the default model when it is what we use and it is missing.
ifeq ($(MODEL),$(DEFAULT_MODEL_DIR))
MODEL_READY := $(DEFAULT_MODEL_DIR)/config.json
endif

# One run writes both files of a document (a grouped pattern rule).
$(OUT)/%.tmx $(OUT)/%.po: corpus/%.txt | $(MODEL_READY)
	$(ZHEN) run $< --out $(OUT) --model $(MODEL) $(ZHEN_OPTS)

model: $(DEFAULT_MODEL_DIR)/config.json

$(DEFAULT_MODEL_DIR)/config.json:
	$(ZHEN) download-model --to $(DEFAULT_MODEL_DIR)

# A tiny random-weight MarianMT model: try the pipeline offline (its
# "translations" are noise).
tiny-model:
	$(PYTHON) tests/tiny_marian.py models/tiny-random

setup:
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PYTHON) -m pip install -e ".[dev]"

test:
	$(PYTHON) -m pytest

clean:
	rm -rf $(OUT)

help:
	@echo "make            translate corpus/*.txt into $(OUT)/*.tmx and $(OUT)/*.po (MODEL=$(MODEL))"
	@echo "make setup      create $(VENV) and install zhen with its dependencies"
	@echo "make test       run the tests"
	@echo "make model      download Helsinki-NLP/opus-mt-zh-en into $(DEFAULT_MODEL_DIR)"
	@echo "make tiny-model build a tiny random model in models/tiny-random (offline demos)"
	@echo "make clean      remove $(OUT)/"
