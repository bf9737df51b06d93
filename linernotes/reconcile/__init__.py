"""Reconcile: measured + model + human values -> one trustworthy final value per field."""

from linernotes.models.final import Conflict, FinalFields, FinalValue, TempoDecision
from linernotes.reconcile.core import ReconcileOptions, reconcile
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
