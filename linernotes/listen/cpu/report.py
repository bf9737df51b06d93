"""What the CPU listener heard, as a few readable lines (``linernotes listen FILE`` on a CPU)."""

from __future__ import annotations

from linernotes.models.tagger import TaggerSection


def tag_line(section: TaggerSection, category: str) -> str:
    """``guitar 0.69, drums 0.22`` for one category of chosen tags (``-`` when none)."""
    items = section.tags.get(category, [])
    return ", ".join(f"{t.tag} {t.probability:.2f}" for t in items) or "-"


def format_section(section: TaggerSection) -> str:
    """The section as a few readable lines."""
    vocals = section.vocals
    lines = [
        f"genre       {tag_line(section, 'genre')}",
        f"mood        {tag_line(section, 'mood')}",
        f"instruments {tag_line(section, 'instrument')}",
        f"vocals      {tag_line(section, 'vocals')}",
        f"instrumental {vocals.is_instrumental} (confidence {vocals.confidence:.2f}, vocal"
        f" probability {vocals.vocal_probability:.2f}, from {' + '.join(vocals.sources)})",
        f"caption     {section.caption.text} (confidence {section.caption.confidence:.2f})",
    ]
    lyrics = section.lyrics
    if lyrics is not None:
        if lyrics.lines:
            lines.append(f"lyrics      [{lyrics.language}] ({lyrics.model})")
            lines += [f"  {x.start_s:6.1f}-{x.end_s:6.1f}  {x.text}" for x in lyrics.lines]
        else:
            lines.append(f"lyrics      none: {lyrics.skipped}")
    lines.append(f"{len(section.segments)} segments of 3 s, {section.audio_s:.1f} s heard in"
                 f" {section.elapsed_s:.1f} s")  # fmt: skip
    return "\n".join(lines)
