"""Terminology: a client's glossary, its terms found in Chinese text as
words, enforced through the model, and checked in translations people wrote.

A glossary is TBX (TBX-Basic as Trados, memoQ and Weblate export it, TBX
2008 ``martif`` or TBX v3 ``tbx``) or CSV/TSV with a ``zh,en`` header and an
optional ``note`` column. A term is enforced as a placeholder is
(:mod:`pipeline.protect`): masked before the model, and its English form put
in the token's place after, so it reaches the output exactly whatever the
model does. Constrained decoding would let the model inflect the term, but
CTranslate2 and transformers constrain it differently, and neither can
promise the exact form; a mask can.

Chinese has no spaces, so a term is found only where it is a word: the
sentence is cut into words (jieba, with the glossary's terms in its
dictionary) and an occurrence counts when it starts and ends at word
boundaries. 小米 is a term in 小米手机 (小米/手机) but not in 小米粥 (a
word of its own). Longest match first: 小米生态链 before 小米.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lxml import etree

from .errors import ZhenError
from .han import HAN
from .textio import decode, printable, read_bytes

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# A note that picks one of several English forms: "preferred: ecosystem chain", "use Mi".
_PREFERRED_NOTE = re.compile(r"\b(?:preferred|use)\s*:?\s*[\"'“]?([^\"'”;,]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Term:
    source: str  # the Chinese form
    target: str  # the English form the translation must use
    note: str = ""


@dataclass(frozen=True)
class Glossary:
    name: str  # the file name
    terms: dict[str, Term] = field(default_factory=dict)  # by Chinese form

    @cached_property
    def version(self) -> str:
        """A digest of the terms: two files with the same terms have the same version."""
        text = "\n".join(f"{t.source}\t{t.target}" for t in sorted(self.terms.values(), key=lambda t: t.source))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def find(self, text: str) -> list[tuple[int, int, Term]]:
        """The glossary's terms in ``text`` as ``(start, end, term)``, in order:
        the longest at each place, and only where they are words of the text."""
        if not self.terms or not HAN.search(text):
            return []
        found = []
        longest = max(map(len, self.terms))
        at = 0
        boundaries: set[int] | None = None
        while at < len(text):
            for size in range(min(longest, len(text) - at), 0, -1):
                term = self.terms.get(text[at : at + size])
                if term is None:
                    continue
                if boundaries is None:
                    boundaries = self._word_boundaries(text)
                if at in boundaries and at + size in boundaries:
                    found.append((at, at + size, term))
                    at += size
                    break
            else:
                at += 1
        return found

    def _word_boundaries(self, text: str) -> set[int]:
        boundaries, at = {0}, 0
        for word in self._segmenter.cut(text):
            at += len(word)
            boundaries.add(at)
        return boundaries

    @cached_property
    def _segmenter(self):
        import jieba  # loads its dictionary (about a second): only for a glossary

        jieba.setLogLevel(logging.WARNING)
        segmenter = jieba.Tokenizer()
        for source in self.terms:
            segmenter.add_word(source)  # a word of its own, without outweighing longer words
        return segmenter

    def missing(self, source: str, translation: str) -> list[Term]:
        """The terms of ``source`` whose English form ``translation`` does not use
        (case aside: a term may start a sentence)."""
        lowered = translation.casefold()
        return [term for _, _, term in self.find(source) if term.target.casefold() not in lowered]


NO_GLOSSARY = Glossary("")


def read_glossary(path: str | Path) -> Glossary:
    """The glossary at ``path``: TBX by its extension or its root element, else CSV/TSV."""
    path = Path(path)
    where = printable(str(path))
    data = read_bytes(path)
    try:
        if path.suffix.lower() == ".tbx" or data.lstrip()[:200].find(b"<") == 0:
            terms = _tbx_terms(data)
        else:
            terms = _table_terms(
                decode(data, None, where)[0], delimiter="\t" if path.suffix.lower() == ".tsv" else None
            )
    except (ValueError, etree.XMLSyntaxError, csv.Error) as err:
        raise ZhenError(f"{where} cannot be read as a glossary ({err})") from None
    if not terms:
        raise ZhenError(f"{where} holds no Chinese term with an English form")
    return Glossary(path.name, {term.source: term for term in terms})


def _table_terms(text: str, delimiter: str | None) -> list[Term]:
    """CSV or TSV with a header naming the zh and en columns (and maybe note)."""
    if delimiter is None:
        delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(rows, [])]
    columns = {name: _column(header, name) for name in ("zh", "en", "note")}
    if columns["zh"] is None or columns["en"] is None:
        raise ValueError(f"its header {header[:4]} names no zh and en columns")
    terms = []
    for row in rows:
        cells = {name: row[i].strip() if i is not None and i < len(row) else "" for name, i in columns.items()}
        forms = [form.strip() for form in re.split(r"[|;]", cells["en"]) if form.strip()]
        if cells["zh"] and forms:
            terms.append(Term(cells["zh"], _chosen(forms, cells["note"]), cells["note"]))
    return terms


def _column(header: Sequence[str], name: str) -> int | None:
    """The column of ``name``: ``zh``, ``zh-CN``, ``zh_Hans``, ``chinese``; ``en``, ``en-US``, ``english``."""
    wanted = {"zh": ("zh", "chinese", "source"), "en": ("en", "english", "target"), "note": ("note", "notes")}[name]
    for index, cell in enumerate(header):
        if re.split(r"[-_ ]", cell)[0] in wanted:
            return index
    return None


def _chosen(forms: Sequence[str], note: str) -> str:
    """The first English form, unless the note prefers another of them."""
    preferred = _PREFERRED_NOTE.search(note)
    if preferred:
        for form in forms:
            if form.casefold() == preferred.group(1).strip().casefold():
                return form
    return forms[0]


def _tbx_terms(data: bytes) -> list[Term]:
    """TBX 2008 (``martif``: termEntry/langSet/tig|ntig) or TBX v3 (``tbx``:
    conceptEntry/langSec/termSec). Entities are not expanded, nothing is fetched."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    root = etree.fromstring(data, parser)
    if _local(root) not in ("martif", "tbx"):
        raise ValueError(f"the root element is <{_local(root)}>, not <martif> or <tbx>")
    terms = []
    for entry in root.iter():
        if _local(entry) not in ("termEntry", "conceptEntry"):
            continue
        sides: dict[str, list[tuple[str, str]]] = {"zh": [], "en": []}
        notes = [n for n in _descendants(entry, "note", "descrip") if n.getparent() is entry]
        for language in (e for e in entry if _local(e) in ("langSet", "langSec")):
            primary = (language.get(_XML_LANG) or language.get("lang") or "").replace("_", "-").split("-")[0].lower()
            if primary not in sides:
                continue
            for holder in (e for e in language if _local(e) in ("tig", "ntig", "termSec")):
                term = next(_descendants(holder, "term"), None)
                status = " ".join(
                    (n.text or "") for n in _descendants(holder, "termNote") if n.get("type") == "administrativeStatus"
                )
                if term is None or any(isinstance(n, etree._Entity) for n in term.iter()):
                    continue  # an entity reference is never expanded: its text is unknown
                if "".join(term.itertext()).strip() and "deprecated" not in status:
                    sides[primary].append(("".join(term.itertext()).strip(), status))
        note = " ".join(" ".join(n.itertext()).strip() for n in notes)
        english = sorted(sides["en"], key=lambda form: "preferred" not in form[1])  # stable: else file order
        for chinese, _ in sides["zh"]:
            if english:
                terms.append(Term(chinese, _chosen([form for form, _ in english], note), note))
    return terms


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _descendants(element, *names: str):
    return (e for e in element.iter() if _local(e) in names)
