"""Shared fixtures: tiny MarianMT models built on the fly, and external checkers."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import tiny_encoder
import tiny_marian

from pipeline.engines.cpu import CHOSEN_BY_ZHEN, ENV, default_backend

# CTranslate2 runs its own default CPU backend in the tests, said in the
# environment (inherited by every zhen process they start): so no test
# measures backends but the one about it, and the pytest process and its zhen
# processes run the same code path (their translations share cache keys).
if CHOSEN_BY_ZHEN in os.environ or not any(name in os.environ for name in ENV):
    os.environ.update(default_backend().env())
    os.environ.pop(CHOSEN_BY_ZHEN, None)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "xiaomi-ecosystem-interview.zh.txt"
TMX_DTD = Path(__file__).parent / "tmx14.dtd"

# CI sets this so that a missing checker (msgfmt, OmegaT) fails the run
# instead of skipping the test that needs it.
REQUIRE_TOOLS = os.environ.get("ZHEN_REQUIRE_TOOLS") == "1"


def require_tool(name: str) -> str:
    """Path of an external program, or skip (fail under ZHEN_REQUIRE_TOOLS=1)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random MarianMT directory; 128 positions, so long sentences get split."""
    return tiny_marian.build(tmp_path_factory.mktemp("tiny-marian"))


@pytest.fixture(scope="session")
def tiny_sentence_encoder(tmp_path_factory) -> Path:
    """A tiny sentence-transformers encoder (a bag of random word vectors)
    knowing every English word of the tests; "physician" means "doctor"."""
    words = tiny_encoder.words_of(path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("*.py"))
    return tiny_encoder.build(tmp_path_factory.mktemp("tiny-encoder"), words, SYNONYMS)


SYNONYMS = [("doctor", "physician"), ("came", "arrived"), ("kid", "child"), ("asleep", "slept"), ("tired", "weary")]


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory, tiny_sentence_encoder):
    """The translation cache, converted models and translation memory of a
    test session live in a temporary directory (and CLI subprocesses inherit
    it), never in ~/.cache, the project's models/ or the working directory;
    `zhen align` uses the tiny sentence encoder unless a test says otherwise."""
    root = tmp_path_factory.mktemp("zhen-state")
    names = ("ZHEN_CACHE", "ZHEN_MODELS_DIR", "ZHEN_TM", "ZHEN_SIMILARITY_MODEL")
    saved = {key: os.environ.get(key) for key in names}
    os.environ["ZHEN_CACHE"] = str(root / "translations.sqlite")
    os.environ["ZHEN_MODELS_DIR"] = str(root / "models")
    os.environ["ZHEN_TM"] = str(new_memory(root / "zhen-tm.sqlite"))  # each test gets its own: isolated_memory
    os.environ["ZHEN_SIMILARITY_MODEL"] = str(tiny_sentence_encoder)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def new_memory(path: Path) -> Path:
    """An empty translation memory at ``path`` ($ZHEN_TM must name one that exists)."""
    from pipeline.memory import TranslationMemory

    TranslationMemory(path).db.close()
    return path


@pytest.fixture(autouse=True)
def isolated_memory(tmp_path_factory, monkeypatch):
    """Each test has a translation memory of its own, empty, beside its
    tmp_path (CLI subprocesses inherit it): an approval in one test never
    reaches another."""
    path = new_memory(tmp_path_factory.mktemp("memory") / "zhen-tm.sqlite")
    monkeypatch.setenv("ZHEN_TM", str(path))
    return path


ENGINES = ("ctranslate2", "transformers")


@pytest.fixture(scope="session")
def translators(tiny_model, isolated_caches):
    """The tiny model loaded in each engine, without a translation cache."""
    from pipeline.translate import DecodingOptions, Translator

    return {
        engine: Translator.load(str(tiny_model), DecodingOptions(engine=engine, device="cpu"), use_cache=False)
        for engine in ENGINES
    }


@pytest.fixture(scope="session", params=ENGINES)
def translator(request, translators):
    return translators[request.param]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: bytes | None = None):
    """Run ``python -m pipeline ARGS`` the way a user would; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        timeout=600,
    )


def run_make(cwd: Path, model: Path, *args: str, env: dict | None = None):
    """The project's Makefile run in ``cwd`` (its corpus/ and out/) with this
    Python and ``model``; return the CompletedProcess (text)."""
    make = require_tool("make")
    command = [make, "-f", str(ROOT / "Makefile"), f"PYTHON={sys.executable}", f"MODEL={model}", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def check_outputs(out: Path) -> None:
    """Every TMX and PO in ``out`` passes the consumers' checks: the TMX 1.4b
    DTD, ``msgfmt --check``, and translate-toolkit reading the same units
    that were written."""
    import polib
    from lxml import etree
    from translate.storage import po, tmx

    dtd = etree.DTD(str(TMX_DTD))
    msgfmt = require_tool("msgfmt")
    for path in sorted(out.glob("*.tmx")):  # bytes: lxml cannot take a file name that is not UTF-8
        tree = etree.parse(io.BytesIO(path.read_bytes()))
        assert dtd.validate(tree), (path, dtd.error_log.filter_from_errors())
        # The segment's text, its inline codes (<ph>, <bpt> ...) read as the markup they hold.
        written = ["".join(tu.findall("tuv")[1].find("seg").itertext()) for tu in tree.iterfind("body/tu")]
        assert [u.target for u in tmx.tmxfile.parsefile(io.BytesIO(path.read_bytes())).units] == written, path
    for path in sorted(out.glob("*.po")):
        result = subprocess.run([msgfmt, "--check", "-o", os.devnull, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (path, result.stderr)
        live = [e.msgid for e in polib.pofile(str(path)) if not e.obsolete]
        units = po.pofile.parsefile(io.BytesIO(path.read_bytes())).units
        read = [u.source for u in units if not u.isheader() and not u.isobsolete()]
        assert read == live, path


def omegat_translate(workdir: Path, sentences: list[str], memories: dict[str, Path]) -> list[str]:
    """Translate ``sentences`` with OmegaT (headless), given TMX files in the
    project's memory folders (``{"tm/auto": path}``); return its output.

    The source file has one sentence per paragraph and OmegaT's own sentence
    splitting is off: its default Chinese rules do not end sentences at
    ASCII ". ", so on a raw document its segments would not be ours. What is
    tested is that OmegaT imports the TMX and matches each unit exactly.
    """
    require_tool("omegat")
    java = require_tool("java")
    project = workdir / "omegat-project"
    for folder in ("source", "target", "glossary", "omegat", "dictionary", *memories):
        (project / folder).mkdir(parents=True)
    (project / "omegat.project").write_text(_OMEGAT_PROJECT, encoding="utf-8")
    (project / "source" / "doc.txt").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    for folder, tmx in memories.items():
        shutil.copy(tmx, project / folder)
    result = subprocess.run(
        [
            java,
            "-Djava.awt.headless=true",
            "-jar",
            "/usr/share/omegat/OmegaT.jar",
            str(project),
            "--mode=console-translate",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return (project / "target" / "doc.txt").read_text(encoding="utf-8").strip().split("\n\n")


_OMEGAT_PROJECT = """\
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<omegat>
  <project version="1.0">
    <source_dir>__DEFAULT__</source_dir>
    <target_dir>__DEFAULT__</target_dir>
    <tm_dir>__DEFAULT__</tm_dir>
    <glossary_dir>__DEFAULT__</glossary_dir>
    <glossary_file>__DEFAULT__</glossary_file>
    <dictionary_dir>__DEFAULT__</dictionary_dir>
    <source_lang>zh-CN</source_lang>
    <target_lang>en</target_lang>
    <sentence_seg>false</sentence_seg>
    <support_default_translations>true</support_default_translations>
    <remove_tags>false</remove_tags>
  </project>
</omegat>
"""
