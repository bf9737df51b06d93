"""Listening on a CPU, with weights that ship in the package: musicnn's tags (ONNX, ISC),
vocal activity, faster-whisper lyrics where a voice is, and a caption from the tags and the
measurements (provenance ``tagger``). Modules: :mod:`.frontend` (mel patches),
:mod:`.tagger` (onnxruntime), :mod:`.vocabulary`, :mod:`.vocals`, :mod:`.lyrics`,
:mod:`.caption`, :mod:`.describe` (one track), :mod:`.listener` (``analyze --listen``),
:mod:`.report` (``linernotes listen`` on a CPU). Imports stay light: nothing here loads a model
until it is used.
"""
