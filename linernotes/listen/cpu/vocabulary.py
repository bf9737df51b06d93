"""What each musicnn label means for a training record: a genre, a mood, an instrument, a
voice (or its absence), a tempo feel, an era or a timbre word, spelled the way reconcile
spells tags.

The MTT model knows MagnaTagATune's 50 tags (instruments, voices, a few styles and feels);
the MSD model knows the Million Song Dataset's 50 most common last.fm tags (styles, moods,
eras). A word both models know (``rock``, ``electronic``, ``guitar``...) takes the larger of
the two probabilities, since each model is calibrated on its own tag frequencies.

Examples
--------
>>> LABELS[("msd", "Hip-Hop")]
('genre', 'hip hop')
>>> LABELS[("mtt", "no vocals")]
('no_vocals', 'no vocals')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: The categories a label can belong to.
CATEGORIES = ("genre", "mood", "instrument", "vocals", "no_vocals", "feel", "era", "timbre")

_MTT = {
    "genre": ["classical", "techno", "electronic", "rock", "indian", "pop", "classic",
              "new age", "dance", "country", "metal", "ambient"],
    "mood": ["weird", "soft"],
    "instrument": ["guitar", "strings", "drums", "piano", "violin", "synth", "harpsichord",
                   "flute", "sitar", "harp", "cello", "beat", "beats"],
    "vocals": ["vocal", "vocals", "singing", "voice", "female", "woman", "female vocal",
               "female voice", "male", "man", "male vocal", "male voice", "choir", "choral",
               "opera"],
    "no_vocals": ["no vocals", "no vocal", "no voice"],
    "feel": ["slow", "fast", "loud", "quiet"],
    "timbre": ["solo"],
}  # fmt: skip
_MSD = {
    "genre": ["rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock",
              "jazz", "metal", "classic rock", "soul", "indie rock", "electronica", "folk",
              "punk", "blues", "hard rock", "ambient", "experimental", "Hip-Hop", "country",
              "funk", "electro", "heavy metal", "Progressive rock", "rnb", "indie pop",
              "House", "easy listening", "oldies", "chillout"],
    "mood": ["beautiful", "Mellow", "chill", "sad", "happy", "sexy", "catchy", "party"],
    "instrument": ["guitar"],
    "vocals": ["female vocalists", "male vocalists", "female vocalist"],
    "no_vocals": ["instrumental"],
    "era": ["00s", "80s", "90s", "70s", "60s"],
    "timbre": ["acoustic"],
}  # fmt: skip
#: Canonical spellings where the label's own differs (merging synonyms across the models).
_CANONICAL = {
    "classic": "classical", "electronica": "electronic", "Hip-Hop": "hip hop",
    "Mellow": "mellow", "Progressive rock": "progressive rock", "House": "house",
    "rnb": "r&b", "beat": "drums", "beats": "drums", "vocal": "vocals", "singing": "vocals",
    "voice": "vocals", "female": "female vocals", "woman": "female vocals",
    "female vocal": "female vocals", "female voice": "female vocals",
    "female vocalists": "female vocals", "female vocalist": "female vocals",
    "male": "male vocals", "man": "male vocals", "male vocal": "male vocals",
    "male voice": "male vocals", "male vocalists": "male vocals", "choral": "choir",
    "opera": "operatic vocals", "no vocal": "no vocals", "no voice": "no vocals",
    "instrumental": "no vocals", "chillout": "chill",
}  # fmt: skip


def _table() -> dict[tuple[str, str], tuple[str, str]]:
    table = {}
    for model, groups in (("mtt", _MTT), ("msd", _MSD)):
        for category, labels in groups.items():
            for label in labels:
                table[(model, label)] = (category, _CANONICAL.get(label, label.lower()))
    return table


#: ``(model, label) -> (category, canonical word)`` for every label the models know.
LABELS: dict[tuple[str, str], tuple[str, str]] = _table()


def merge_labels(
    probabilities: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, np.ndarray]]:
    """``{canonical word: (category, probabilities)}`` from each model's ``(..., 50)`` outputs;
    a word several labels share takes their element-wise maximum."""
    merged: dict[str, tuple[str, np.ndarray]] = {}
    for model, probs in probabilities.items():
        for i, label in enumerate(labels[model]):
            category, word = LABELS.get((model, label), ("other", label.lower()))
            column = probs[..., i]
            if word in merged:
                column = np.maximum(merged[word][1], column)
            merged[word] = (category, column)
    return merged
