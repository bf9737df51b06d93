"""What every request handler of the review service gets: the settings, the library adapter,
the track index, the job manager and the chat's conversations (when chat is on) of the
running application."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from linernotes.service.chat_rooms import ChatRooms
from linernotes.service.index import TrackIndex
from linernotes.service.jobs import JobManager
from linernotes.service.library_access import LibraryAccess, TrackRef
from linernotes.service.security import ServeSettings


@dataclass
class Service:
    """Everything a request handler needs."""

    settings: ServeSettings
    access: LibraryAccess
    index: TrackIndex
    jobs: JobManager
    chats: ChatRooms | None = None

    def ref(self, track_id: str) -> TrackRef:
        """The track ``track_id``.

        Raises
        ------
        LookupError
            No such track in the library.
        """
        ref = self.index.ref(track_id)
        if ref is None:
            raise LookupError(f"no track {track_id!r} in the library")
        return ref


def service_of(request: Request) -> Service:
    return request.app.state.service
