"""Human edits: a separate, timestamped, undoable layer that automatic runs never overwrite."""

from linernotes.edits.model import EDITABLE_FIELDS, Edit, canonical_field, parse_value
from linernotes.edits.store import EditStore, find_library

__all__ = ["EDITABLE_FIELDS", "Edit", "EditStore", "canonical_field", "find_library", "parse_value"]
