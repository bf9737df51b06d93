"""The tempo curve stays at the reported beat's level, and segments are real changes."""

from __future__ import annotations

import numpy as np
import pytest

from linernotes.analyzers.rhythm.tempo_curve import tempo_curve, tempo_segments

CENTRES = np.arange(4.0, 60.0, 2.0)  # 8 s windows every 2 s, as the rhythm stage makes them


def test_a_first_window_off_the_tempo_is_no_segment_of_its_own():
    # The first window (a lead-in, a swell) reads another tempo: before, the edge value
    # survived the median filter and cut a one-window segment off the start.
    bpms = np.full(CENTRES.size, 120.0)
    bpms[0] = 80.0
    assert [round(b) for _, _, b in tempo_segments(CENTRES, bpms)] == [120]
    bpms[:2] = 80.0
    assert [round(b) for _, _, b in tempo_segments(CENTRES, bpms)] == [120]


def test_a_real_change_still_cuts_and_short_departures_do_not():
    bpms = np.where(CENTRES < 30, 100.0, 125.0)
    segments = tempo_segments(CENTRES, bpms)
    assert [round(b) for _, _, b in segments] == [100, 125]
    assert abs(segments[0][1] - 30) <= 2
    fill = np.full(CENTRES.size, 100.0)
    fill[10:14] = 125.0  # 8 s at another tempo: a break, not a segment
    assert len(tempo_segments(CENTRES, fill)) == 1


@pytest.mark.parametrize("after", [125.0, 145.0, 150.0])
def test_windows_that_disagree_with_the_beats_keep_their_own_reading(after):
    # Beats at 100 throughout, windows at another tempo in the second half (the tracker did
    # not follow a change): the periodicity reading stands there. A change by 3/2 is a change
    # too: reading it as a dotted level of the beats would hide one DJ cut in ten
    # (``bench/tempo_changes``).
    beats = np.arange(0.5, 60.0, 0.6)
    local = np.where(CENTRES < 30, 100.0, after)
    times, curve = tempo_curve(CENTRES, local, bpm=100.0, beat_times=beats)
    assert np.allclose(curve[CENTRES < 26], 100.0, rtol=0.01)
    assert np.allclose(curve[CENTRES > 34], after)
    assert [round(b) for _, _, b in tempo_segments(times, curve)] == [100, round(after)]


def test_in_six_eight_windows_read_at_two_eighths_are_folded_back():
    # A 6/8 song at 70 dotted quarters whose windows peak at the quarter note (105): its one
    # segment is at 70 (13 of the accuracy benchmark's 160 clips had a segment off their
    # tempo's level before). In a duple metre the same ratio is a change and stays.
    beats = np.arange(0.5, 60.0, 60.0 / 70.0)
    local = np.full(CENTRES.size, 105.0)
    times, curve = tempo_curve(CENTRES, local, bpm=70.0, beat_times=beats, dotted=True)
    assert np.allclose(curve, 70.0, rtol=0.01)
    assert [round(b) for _, _, b in tempo_segments(times, curve)] == [70]
    _, duple = tempo_curve(CENTRES, local, bpm=70.0, beat_times=beats)
    assert np.allclose(duple, 105.0)


def test_in_six_eight_a_change_by_four_thirds_is_not_folded_as_a_dotted_level():
    # 102 -> 74 is a DJ cut into a 6/8 song, not its quarter notes: 102 x 2/3 = 68 lies 8 %
    # from 74, outside the closer tolerance dotted levels get.
    beats = np.arange(0.5, 60.0, 60.0 / 74.0)
    local = np.where(CENTRES < 30, 102.0, 74.0)
    times, curve = tempo_curve(CENTRES, local, bpm=74.0, beat_times=beats, dotted=True)
    assert [round(b) for _, _, b in tempo_segments(times, curve)] == [102, 74]
