"""Reconcile: measured + model + human values -> one trustworthy final value per field."""

from linernotes.reconcile.core import ReconcileOptions, reconcile
from linernotes.reconcile.model import Conflict, FinalFields, FinalValue, TempoDecision
from linernotes.reconcile.structure import RuleStructurer, StructuredText, StructureRequest

__all__ = [
    "Conflict",
    "FinalFields",
    "FinalValue",
    "ReconcileOptions",
    "RuleStructurer",
    "StructureRequest",
    "StructuredText",
    "TempoDecision",
    "reconcile",
]
