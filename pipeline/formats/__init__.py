"""The files zhen reads and writes back translated, one module per format.

Each module reads a file into its translatable parts and writes it back
with their translations, keeping every other byte (see :mod:`.base`):

| extension | module | parts |
|---|---|---|
| ``.txt`` | ``text`` | each non-blank line |
| ``.md`` | ``markdown`` | paragraphs, headings, list items, table cells; not code |
| ``.html``, ``.htm`` | ``html`` | the text of each block; alt, title, placeholder, aria-label |
| ``.json`` | ``i18n_json`` | each string value (vue-i18n, i18next, ICU) |
| ``.po``, ``.pot`` | ``catalog`` | each msgid (and msgid_plural), whole |
| ``.xlf``, ``.xliff`` | ``xliff`` | each source segment (XLIFF 1.2 and 2.0) |
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ZhenError
from . import catalog, html, i18n_json, markdown, text, xliff
from .base import Source, Translated, translate_part

__all__ = ["FORMATS", "Source", "Translated", "read_source", "translate_part", "translated_name"]

FORMATS = {
    ".txt": text,
    ".md": markdown,
    ".markdown": markdown,
    ".html": html,
    ".htm": html,
    ".json": i18n_json,
    ".po": catalog,
    ".pot": catalog,
    ".xlf": xliff,
    ".xliff": xliff,
}
# A Chinese language tag at the end of a file name: README.zh-CN, messages_zh, zh-Hans.
_CHINESE_TAG = re.compile(r"(^|[._-])zh(?:[-_](?:CN|TW|HK|SG|MO|Hans|Hant)(?:[-_](?:CN|TW|HK))?)?$", re.IGNORECASE)


def read_source(path: str | Path, data: bytes, encoding: str | None = None) -> Source:
    """The document at ``path`` (its bytes are ``data``), read by the module of its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise ZhenError(f"{path}: zhen does not know the format of {suffix or 'a file without an extension'} ({known})")
    return FORMATS[suffix].read(Path(path), data, encoding)


def translated_name(path: str | Path) -> str:
    """The file name of the translated document: ``NAME.en.EXT``, the Chinese
    language tag that NAME ends in replaced by ``en`` (README.zh-CN.md →
    README.en.md, zh_CN.json → en.json)."""
    path = Path(path)
    name, suffix = path.stem, path.suffix
    tagged = _CHINESE_TAG.search(name)
    if tagged:
        return f"{name[: tagged.start()]}{tagged.group(1)}en{suffix}"
    return f"{name}.en{suffix}"
