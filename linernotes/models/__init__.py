"""The typed track record and its sections: the centre every layer reads and writes.

Pydantic and the standard library only; nothing else of linernotes, so importing the record
costs no decoder, no analysis and no model backend.

=====================  ==================================================================
:mod:`.record`         :class:`TrackRecord`, its :class:`Summary`, :class:`FileInfo`,
                       :class:`AnalysisSection`
:mod:`.provenance`     :class:`Provenance` of a summary value
:mod:`.decode`         :class:`DecodeReport`: how decoding went
:mod:`.stems`          :class:`StemInfo`, :class:`StemFeatures`, stem and mix names
:mod:`.listen`         :class:`ListenSection`: what the audio-language model said
:mod:`.quality`        :class:`QualitySection`, :class:`Detection` and the scores
:mod:`.final`          :class:`FinalFields`: the reconciled values, conflicts, review flags
:mod:`.edit`           :class:`Edit`: one human edit
=====================  ==================================================================
"""

from linernotes.models.decode import DecodeReport
from linernotes.models.edit import Edit
from linernotes.models.final import (
    FINAL_FIELDS,
    RECONCILE_VERSION,
    Alternative,
    Conflict,
    FinalFields,
    FinalValue,
    TempoDecision,
)
from linernotes.models.listen import LISTEN_VERSION, AudioUse, ListenEntry, ListenSection
from linernotes.models.provenance import Provenance
from linernotes.models.quality import (
    MODEL_SCORE_KEYS,
    Detection,
    ModelQuality,
    ObjectiveQuality,
    QualitySection,
)
from linernotes.models.record import (
    SCHEMA_VERSION,
    AnalysisSection,
    FileInfo,
    Summary,
    TrackRecord,
)
from linernotes.models.stems import MIX_NAMES, STEM_TYPES, StemFeatures, StemInfo

__all__ = [
    "FINAL_FIELDS",
    "LISTEN_VERSION",
    "MIX_NAMES",
    "MODEL_SCORE_KEYS",
    "RECONCILE_VERSION",
    "SCHEMA_VERSION",
    "STEM_TYPES",
    "Alternative",
    "AnalysisSection",
    "AudioUse",
    "Conflict",
    "DecodeReport",
    "Detection",
    "Edit",
    "FileInfo",
    "FinalFields",
    "FinalValue",
    "ListenEntry",
    "ListenSection",
    "ModelQuality",
    "ObjectiveQuality",
    "Provenance",
    "QualitySection",
    "StemFeatures",
    "StemInfo",
    "Summary",
    "TempoDecision",
    "TrackRecord",
]
