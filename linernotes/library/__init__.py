"""The library: every command's way to tracks, records and edits.

* :mod:`.location` - the one rule that finds the library from any path;
* :mod:`.db` - the one SQLite connection class (results, records, edits, listen answers);
* :mod:`.scan` - the audio under some paths, and which files are stems of a mix;
* :mod:`.layout` - where a track's record and grid files go (and the remembered ``--out``);
* :mod:`.core` - :class:`Library`: records by track, final fields, edits that refresh files,
  edits imported from a file;
* :mod:`.analyze` - :func:`analyze_paths`, the batch;
* :mod:`.stems` - separated stems in the library: where they live, their completion markers,
  finding them again for a track (the user's own stems win);
* :mod:`.separate` - ``separate_paths``, the resumable ``stems`` batch (Demucs through
  :mod:`linernotes.separate`);
* :mod:`.tracks` - the analysed tracks under a folder, and exporting them;
* :mod:`.crops` - training crops cut on downbeats, each a track of the crops' library;
* :mod:`.edit_file` - human edits from a CSV or JSON file;
* :mod:`.shared` - the library a long-running face holds (the review service, the chat):
  found once it exists, one connection per thread.
"""

from linernotes.library.analyze import analyze_paths
from linernotes.library.core import Library, LibraryNotFound
from linernotes.library.tracks import ExportReport, collect, collect_tracks, export_dataset

__all__ = [
    "ExportReport",
    "Library",
    "LibraryNotFound",
    "analyze_paths",
    "collect",
    "collect_tracks",
    "export_dataset",
]
