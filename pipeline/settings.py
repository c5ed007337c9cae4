"""zhen's defaults, each resolved in one place: which model, where the
translation cache, the translation memory and converted models live, and
the creation time written into the outputs.

Every rule here is the same for the command line and for make: an option
given on the command line wins, then an environment variable, then the
default.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from .errors import ZhenError

DEFAULT_MODEL = "Helsinki-NLP/opus-mt-zh-en"
# Where `make model` and `zhen download-model` save the default model, relative
# to the directory zhen runs in (the project's root for make).
SAVED_MODEL_DIR = Path("models") / "opus-mt-zh-en"
MODEL_ENV_VAR = "ZHEN_MODEL"
# The aligner's English sentence encoder, and where `make similarity-model` unpacks it.
DEFAULT_SIMILARITY_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SAVED_SIMILARITY_MODEL_DIR = Path("models") / "all-MiniLM-L6-v2"
SIMILARITY_MODEL_ENV_VAR = "ZHEN_SIMILARITY_MODEL"
CACHE_ENV_VAR = "ZHEN_CACHE"
MEMORY_ENV_VAR = "ZHEN_TM"
MODELS_DIR_ENV_VAR = "ZHEN_MODELS_DIR"
DEFAULT_MEMORY = "zhen-tm.sqlite"


def model_name(given: str | None = None) -> str:
    """The model to use: ``given`` (``--model``), else ``$ZHEN_MODEL``, else the
    default model saved in ``models/opus-mt-zh-en`` if it is there, else the
    default's hub id (downloaded into the Hugging Face cache on first use)."""
    if given or os.environ.get(MODEL_ENV_VAR):
        return given or os.environ[MODEL_ENV_VAR]
    if (SAVED_MODEL_DIR / "config.json").is_file():
        return str(SAVED_MODEL_DIR)
    return DEFAULT_MODEL


def similarity_model_name(given: str | None = None) -> str:
    """The aligner's sentence encoder: ``given`` (``--similarity-model``), else
    ``$ZHEN_SIMILARITY_MODEL``, else the one `make similarity-model` saved in
    ``models/all-MiniLM-L6-v2`` if it is there, else the default's hub id."""
    if given or os.environ.get(SIMILARITY_MODEL_ENV_VAR):
        return given or os.environ[SIMILARITY_MODEL_ENV_VAR]
    if (SAVED_SIMILARITY_MODEL_DIR / "config.json").is_file():
        return str(SAVED_SIMILARITY_MODEL_DIR)
    return DEFAULT_SIMILARITY_MODEL


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/zhen``, else ``~/.cache/zhen``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zhen"


def cache_path(given: str | Path | None = None) -> Path:
    """The translation cache: ``--cache``, else ``$ZHEN_CACHE``, else the user's cache directory."""
    return Path(given or os.environ.get(CACHE_ENV_VAR) or user_cache_dir() / "translations.sqlite")


def memory_location(tm: str | Path | None = None, new_tm: str | Path | None = None) -> tuple[Path, bool]:
    """The translation memory, and whether zhen may create it there: ``--new-tm``
    (yes), else ``--tm`` or ``$ZHEN_TM`` (no: a memory the user names must
    exist, so that a typo never starts an empty one), else ``zhen-tm.sqlite``
    in the current directory, the project's (yes)."""
    if new_tm:
        return Path(new_tm), True
    if tm or os.environ.get(MEMORY_ENV_VAR):
        return Path(tm or os.environ[MEMORY_ENV_VAR]), False
    return Path(DEFAULT_MEMORY), True


def conversions_dir(model: str) -> Path:
    """Where converted (CTranslate2) copies of ``model`` go: ``$ZHEN_MODELS_DIR/ctranslate2``,
    else beside a writable model directory, else the user's cache directory."""
    if os.environ.get(MODELS_DIR_ENV_VAR):
        return Path(os.environ[MODELS_DIR_ENV_VAR]) / "ctranslate2"
    beside = Path(model).resolve().parent
    if Path(model).is_dir() and os.access(beside, os.W_OK):
        return beside / "ctranslate2"
    return user_cache_dir() / "ctranslate2"


def cpu_backends_path() -> Path:
    """Where the CPU backend measured fastest on each CPU is remembered
    (:mod:`pipeline.engines.cpu`): beside the user's converted models."""
    return Path(os.environ.get(MODELS_DIR_ENV_VAR) or user_cache_dir()) / "cpu-backends.json"


def creation_time() -> datetime:
    """Now, or ``$SOURCE_DATE_EPOCH`` for reproducible builds (timezone-aware UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ZhenError(f"SOURCE_DATE_EPOCH must be seconds since 1970, not {epoch!r}") from None
    return datetime.now(timezone.utc).replace(microsecond=0)
