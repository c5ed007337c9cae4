"""gettext catalogs (PO and POT): each msgid with Chinese in it, and each
msgid_plural, is a part, translated whole (a catalog's entry is one unit
for its translators). The translated catalog is the review PO itself
(``DIR/NAME.po``): the input's entries with their contexts, flags,
references and comments, msgstr filled (both plural forms for English),
fuzzy until a person approves it, and ``Language: en``. An entry the
catalog brings translated and not fuzzy is a translator's work and stays
as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polib

from .. import GENERATOR, MACHINE_TRANSLATOR, dates
from ..data import Document, Part
from ..errors import ZhenError
from ..han import HAN
from ..po import read_po
from ..settings import creation_time
from ..textio import printable
from .base import Source, Translated

ENGLISH_PLURALS = "nplurals=2; plural=(n != 1);"


def read(path: Path, data: bytes, encoding: str | None = None) -> Source:
    try:
        catalog = read_po(path)
    except (OSError, UnicodeError, ValueError) as err:
        raise ZhenError(f"{path} cannot be read as a PO file ({err}); nothing was written") from None
    entries = [entry for entry in catalog if not entry.obsolete and entry.msgid and HAN.search(entry.msgid)]
    keyed = []  # (entry, which string: msgid or msgid_plural)
    for entry in entries:
        keyed.append((entry, "msgid"))
        if entry.msgid_plural:
            keyed.append((entry, "msgid_plural"))
    parts = tuple(Part(getattr(entry, field), entry.linenum, entry.msgctxt or "", whole=True) for entry, field in keyed)
    text = data.decode(catalog.encoding or "utf-8", errors="replace")
    document = Document(printable(path.as_posix()), path.stem, text, catalog.encoding or "utf-8", "po", parts)

    def render(translated: Sequence[Translated]) -> bytes:
        """The catalog, translated: each entry's msgstr (both forms of a
        plural), fuzzy unless a person approved every string of it, zhen's
        comment after the catalog's own."""
        fresh = read_po(path)
        by_entry: dict[tuple, list[Translated]] = {}
        for (entry, _), translation in zip(keyed, translated, strict=True):
            by_entry.setdefault(_identity(entry), []).append(translation)
        for entry in fresh:
            found = by_entry.get(_identity(entry))
            if entry.obsolete or not found or entry.translated():
                continue  # translated (and not fuzzy) in the catalog as it came: a person's work, kept
            if entry.msgid_plural:
                singular, plural = found
                entry.msgstr_plural = {0: singular.text, 1: plural.text}
            else:
                entry.msgstr = found[0].text
            approved = all(t.approved for t in found)
            flags = [flag for flag in entry.flags if flag != "fuzzy"]
            entry.flags = flags if approved else ["fuzzy", *flags]
            notes = "\n".join(dict.fromkeys(t.comment for t in found if t.comment))
            entry.comment = "\n".join(filter(None, (entry.comment, notes)))
        # Header fields a translated catalog must have, where the template left them empty or unset.
        for field, value in (
            ("PO-Revision-Date", creation_time().strftime(dates.PO_HEADER)),
            ("Last-Translator", MACHINE_TRANSLATOR),
            ("Language-Team", "English"),
            ("MIME-Version", "1.0"),
        ):
            if fresh.metadata.get(field, "").startswith(("YEAR-", "FULL NAME", "LANGUAGE")) or not fresh.metadata.get(
                field
            ):
                fresh.metadata[field] = value
        fresh.metadata.update(
            {
                "Language": "en",
                "Plural-Forms": ENGLISH_PLURALS,
                "Content-Type": "text/plain; charset=UTF-8",
                "Content-Transfer-Encoding": "8bit",
                "X-Generator": GENERATOR,
            }
        )
        fresh.wrapwidth = 0
        return str(fresh).encode("utf-8")

    return Source(document, render)


def own_comments(document: Document) -> dict[tuple, str]:
    """Each entry's extracted comments (``#.``) as the catalog has them, by identity."""
    return {_identity(entry): entry.comment for entry in polib.pofile(document.text) if entry.comment}


def _identity(entry: polib.POEntry) -> tuple:
    return entry.msgctxt, entry.msgid, entry.msgid_plural
