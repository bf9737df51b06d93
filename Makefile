# Fresh machine: `make demo` and `make test` each create the environment they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
STAMP  := $(VENV)/.installed-dev
# A CPU build of PyTorch for the listen tests (tiny random models). Any other torch spec pulls
# gigabytes of CUDA packages; on a GPU machine install the torch build you need instead.
TORCH  ?= torch==2.13.0
# Demucs without its declared deps (see the `separate` extra in pyproject.toml).
DEMUCS ?= demucs==4.1.0

.PHONY: demo test lint browser screenshots examples bench-speed bench-accuracy clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[serve]'
	touch $(CORE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev,listen,serve,chat,separate]'
	$(BIN)/python -m pip install --quiet --no-deps '$(DEMUCS)'
	touch $(STAMP)

## demo: analyse the bundled example clips and compare with their known answers
demo: $(CORE)
	$(BIN)/linernotes analyze examples --out build/demo --workers 2
	$(BIN)/python scripts/demo_report.py build/demo examples/truth.json

## test: lint and run the test suite
test: $(STAMP) browser
	$(BIN)/ruff check linernotes tests scripts bench
	$(BIN)/python -m pytest -q -rs

## browser: Debian's chromium + chromium-driver, for the review UI's browser test
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
		  sudo apt-get install -y -qq chromium chromium-driver || \
		  echo "*** WARNING: chromium + chromium-driver could not be installed: the review UI's browser test will be SKIPPED ***" >&2; }

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

clean:
	rm -rf build .pytest_cache .ruff_cache
