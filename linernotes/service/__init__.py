"""The review web service (``linernotes serve``, mounted by :mod:`linernotes.cli.serve`): a
local FastAPI application and UI to listen to tracks, see their beat grid, and fix and accept
their annotations (the ``serve`` extra).

All library access goes through :mod:`.library_access`, a thin layer over
:mod:`linernotes.library`. The chat panel's answers come from a conversation factory the
command line hands in (:mod:`.chat_rooms`, :mod:`.routes_chat`): the service never imports
:mod:`linernotes.chat`, its peer.
"""
