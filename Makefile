# Fresh machine: `make demo` and `make test` each create the environment they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
STAMP  := $(VENV)/.installed-dev
# A CPU build of PyTorch for the listen tests (tiny random models). Any other torch spec pulls
# gigabytes of CUDA packages; on a GPU machine install the torch build you need instead.
TORCH  ?= torch==2.13.0

.PHONY: demo test lint examples bench-speed bench-accuracy convert-musicnn clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(CORE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev,listen,lyrics]'
	touch $(STAMP)

## demo: analyse the bundled example clips and compare with their known answers
demo: $(CORE)
	$(BIN)/linernotes analyze examples --out build/demo --workers 2 --listen
	$(BIN)/linernotes export examples --records build/demo --db build/demo/.linernotes/library.db \
		--to ace-step --out build/demo/export
	$(BIN)/python scripts/demo_report.py build/demo examples/truth.json

## test: lint and run the test suite
test: $(STAMP)
	$(BIN)/ruff check linernotes tests scripts bench
	$(BIN)/python -m pytest -q

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
	rm -rf build .pytest_cache .ruff_cache
