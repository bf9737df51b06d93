# Fresh machine: `make demo` and `make test` each create the environment they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
STAMP  := $(VENV)/.installed-dev
# A CPU build of PyTorch for the listen tests (tiny random models). Any other torch spec pulls
# gigabytes of CUDA packages; on a GPU machine install the torch build you need instead.
TORCH  ?= torch==2.13.0
# The transformers range the listen backend admits (pyproject's listen extra): .venv gets the
# newest release in it, .venv-floor the lowest, and `make test` runs the listen tests on both.
TRANSFORMERS_FLOOR := $(shell sed -n 's/.*"transformers>=\([0-9.]*\),<6".*/\1/p' pyproject.toml)
TRANSFORMERS_RANGE := transformers>=$(TRANSFORMERS_FLOOR),<6
FLOOR       := .venv-floor
FLOOR_STAMP := $(FLOOR)/.installed
# Demucs without its declared deps (see the `separate` extra in pyproject.toml).
DEMUCS ?= demucs==4.1.0

.PHONY: demo test lint browser chromaprint espeak screenshots examples bench-speed bench-accuracy transformers-floor convert-musicnn clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[serve]'
	touch $(CORE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev,listen,lyrics,serve,chat,separate,ray]'
	$(BIN)/python -m pip install --quiet --no-deps '$(DEMUCS)'
	# the ceiling: the newest transformers the package admits
	$(BIN)/python -m pip install --quiet --upgrade '$(TRANSFORMERS_RANGE)'
	touch $(STAMP)

# the floor: the lowest transformers the package admits, same torch, only what the listen
# tests need
$(FLOOR_STAMP): pyproject.toml
	rm -rf $(FLOOR)
	$(PYTHON) -m venv $(FLOOR)
	$(FLOOR)/bin/python -m pip install --quiet --upgrade pip
	$(FLOOR)/bin/python -m pip install --quiet '$(TORCH)'
	$(FLOOR)/bin/python -m pip install --quiet -e '.[listen,lyrics]' pytest \
		'transformers==$(TRANSFORMERS_FLOOR)'
	touch $(FLOOR_STAMP)

## demo: analyse the bundled example clips and compare with their known answers
demo: $(CORE)
	$(BIN)/linernotes analyze examples --out build/demo --db build/demo/library.db --workers 2 --listen
	$(BIN)/linernotes export examples --db build/demo/library.db --to ace-step --out build/demo/export
	$(BIN)/python scripts/demo_report.py build/demo examples/truth.json

## test: lint, run the test suite, and the listen tests again on the lowest transformers
test: $(STAMP) $(FLOOR_STAMP) browser chromaprint espeak
	$(BIN)/ruff check linernotes tests scripts bench
	@$(BIN)/python -c 'import transformers as t; print("suite on transformers", t.__version__, "(newest admitted)")'
	$(BIN)/python -m pytest -q -rs
	@$(FLOOR)/bin/python -c 'import transformers as t; print("listen tests on transformers", t.__version__, "(lowest admitted)")'
	$(FLOOR)/bin/python -m pytest -q -p no:cacheprovider tests/test_listen_*.py

transformers-floor:
	@echo $(TRANSFORMERS_FLOOR)

## browser: Debian's chromium + chromium-driver, for the review UI's browser test
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
		  sudo apt-get install -y -qq chromium chromium-driver || \
		  echo "*** WARNING: chromium + chromium-driver could not be installed: the review UI's browser test will be SKIPPED ***" >&2; }

## chromaprint: Debian's fpcalc (libchromaprint-tools, LGPL, run as a command) for duplicate
## detection; without it linernotes uses its own fingerprint and the Chromaprint test is skipped
chromaprint:
	@command -v fpcalc >/dev/null || \
		{ command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq libchromaprint-tools) || \
		  sudo apt-get install -y -qq libchromaprint-tools || \
		  echo "*** WARNING: libchromaprint-tools could not be installed: duplicates use the fallback fingerprint ***" >&2; }

## espeak: Debian's espeak-ng, the voice the lyrics tests sing with (they skip without it)
espeak:
	@command -v espeak-ng >/dev/null || \
		{ command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq espeak-ng) || \
		  sudo apt-get install -y -qq espeak-ng || \
		  echo "*** WARNING: espeak-ng could not be installed: the lyrics tests on a voice are skipped ***" >&2; }

## screenshots: retake docs/review-list.png and docs/review-track.png with the browser test
screenshots: $(STAMP) browser
	LINERNOTES_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_service_browser.py

lint: $(STAMP)
	$(BIN)/ruff check linernotes tests scripts bench

## examples: re-render the example clips from MIDI (needs fluidsynth + a GM soundfont)
examples: $(STAMP)
	@command -v fluidsynth >/dev/null && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || \
		{ command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq fluidsynth fluid-soundfont-gm) || \
		  sudo apt-get install -y -qq fluidsynth fluid-soundfont-gm; }
	$(BIN)/python scripts/render_examples.py

## bench-accuracy: accuracy against librosa, essentia, madmom and aubio (those installed)
bench-accuracy: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	bench/accuracy

## bench-speed: speed and memory benchmark against librosa (and essentia if installed)
bench-speed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	bench/speed

## convert-musicnn: rebuild the shipped ONNX tagger weights from musicnn's wheel (TensorFlow in
## a venv of its own, .convert-venv); prints the ONNX-vs-TensorFlow difference
convert-musicnn:
	[ -x .convert-venv/bin/python ] || python3.11 -m venv .convert-venv
	.convert-venv/bin/python -m pip install --quiet tensorflow-cpu==2.15.1 tf2onnx==1.17.0 \
		onnx==1.16.2 onnxruntime librosa
	.convert-venv/bin/python scripts/convert_musicnn.py

clean:
	rm -rf build .pytest_cache .ruff_cache $(FLOOR)
