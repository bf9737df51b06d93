"""Stem separation: split a mix into drums, bass, vocals and other (and guitar and piano with
``htdemucs_6s``) with Demucs, for tracks that came without stems of their own.

- :mod:`~linernotes.separate.model` loads a Demucs model by name (the package's own source:
  the Hugging Face hub, then the legacy remote repo, cached as Demucs caches them) or from a
  local folder in the layout of Demucs' ``--repo`` option, and names its weights;
- :mod:`~linernotes.separate.overlap` separates a stream in overlapping segments, blended as
  Demucs blends them, so memory stays bounded whatever the length;
- :mod:`~linernotes.separate.resample` converts streams between rates (FFmpeg's resampler);
- :mod:`~linernotes.separate.track` separates one file: decode, to the model's rate, separate,
  back to the original rate, FLAC written atomically;
- :mod:`~linernotes.separate.vocals` reads a record's vocal activity back (whether and where a
  track has a voice) for ``is_instrumental`` and the lyrics step.

Where stems live in the library, the resumable batch and the command are above this package:
:mod:`linernotes.library.stems` (completion markers, finding stems again, user stems win),
:mod:`linernotes.library.separate` (``separate_paths``) and :mod:`linernotes.cli.stems`
(``linernotes stems``, ``analyze --separate``).

Demucs is imported only through ``demucs.pretrained``, ``demucs.apply`` and the model classes,
which need neither torchaudio nor Demucs' own audio I/O; all audio I/O is PyAV and soundfile.
"""
