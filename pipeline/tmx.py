"""Stage 4a: write translation units as TMX 1.4b.

The file validates against the TMX 1.4b DTD (shipped in ``tests/``) and
avoids what makes CAT tools reject or mismatch units: language tags are
BCP 47 (``zh-CN``, never ``zh_CN``), every ``<tuv>`` has ``xml:lang``,
segments carry no leading or trailing spaces, and characters XML 1.0 forbids
are removed. No DOCTYPE is written: Java-based tools would try to fetch the
DTD from disk and fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from . import __version__
from .data import Provenance, Unit
from .textio import atomic_write, clean_segment

SOURCE_LANG = "zh-CN"
TARGET_LANG = "en"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def write_tmx(units: Sequence[Unit], path: str | Path, provenance: Provenance) -> None:
    """Write ``units`` to ``path`` atomically."""
    atomic_write(path, tmx_bytes(units, provenance))


def tmx_bytes(units: Sequence[Unit], provenance: Provenance) -> bytes:
    date = provenance.created.strftime("%Y%m%dT%H%M%SZ")
    root = etree.Element("tmx", version="1.4")
    etree.SubElement(
        root,
        "header",
        {
            "creationtool": "zhen",
            "creationtoolversion": __version__,
            "segtype": "sentence",
            "o-tmf": "zhen",
            "adminlang": "en",
            "srclang": SOURCE_LANG,
            "datatype": "plaintext",
            "creationdate": date,
        },
    )
    body = etree.SubElement(root, "body")
    for unit in units:
        tu = etree.SubElement(body, "tu", creationdate=date, creationid="zhen")
        _prop(tu, "x-zhen-confidence", f"{unit.confidence:.3f}")
        _prop(tu, "x-zhen-origin", "alignment" if unit.aligned else "machine-translation")
        _prop(tu, "x-zhen-model", provenance.model)
        if unit.logprob is not None:
            _prop(tu, "x-zhen-logprob", f"{unit.logprob:.3f}")
        if unit.copied:
            etree.SubElement(tu, "note").text = "copied from the source: it has no Chinese to translate"
        for warning in unit.warnings:
            etree.SubElement(tu, "note").text = clean_segment(warning)
        _tuv(tu, SOURCE_LANG, unit.source)
        _tuv(tu, TARGET_LANG, unit.target)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _prop(parent: etree._Element, kind: str, value: str) -> None:
    etree.SubElement(parent, "prop", type=kind).text = clean_segment(value)


def _tuv(tu: etree._Element, lang: str, text: str) -> None:
    tuv = etree.SubElement(tu, "tuv", {_XML_LANG: lang})
    etree.SubElement(tuv, "seg").text = clean_segment(text)
