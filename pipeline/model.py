"""Finding, checking, fingerprinting and downloading MarianMT models."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import ZhenError

DEFAULT_MODEL = "Helsinki-NLP/opus-mt-zh-en"
MODEL_ENV_VAR = "ZHEN_MODEL"


def resolve_model(name: str | None = None) -> str:
    """The model to use: ``name``, else ``$ZHEN_MODEL``, else the default hub id."""
    return name or os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL


def load_tokenizer(name: str):
    """Check that ``name`` is a MarianMT model and load its tokenizer.

    Returns ``(name, tokenizer)``, the name normalised for a local directory.
    Every problem is one ZhenError line saying what to do.
    """
    hint = (
        f"`make model` downloads {DEFAULT_MODEL} into models/ (needs network once); "
        f"or pass --model DIR / set {MODEL_ENV_VAR} to a MarianMT directory"
    )
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if path.is_file():
            raise ZhenError(f"{name} is a file; --model wants a model directory or hub id; {hint}")
        if not path.is_dir():
            raise ZhenError(f"model directory {name} does not exist; {hint}")
        if not (path / "config.json").is_file():
            raise ZhenError(f"{name} is not a model directory (it has no config.json); {hint}")
        name = str(path)
    from transformers import AutoConfig, MarianTokenizer

    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise ZhenError(f"cannot load model {name!r} ({_first_line(err)}); {hint}") from None
    if config.model_type != "marian":
        raise ZhenError(f"{name} is a {config.model_type!r} model, not MarianMT; {hint}")
    try:
        tokenizer = MarianTokenizer.from_pretrained(name)
    except (OSError, ValueError, TypeError, AssertionError) as err:
        # MarianTokenizer asserts on, or passes None for, missing .spm files.
        raise ZhenError(_incomplete(name, err)) from None
    return name, tokenizer


def _incomplete(name: str, err: BaseException) -> str:
    return (
        f"{name} is not a complete MarianMT model (it needs source.spm, target.spm, "
        f"vocab.json and weights): {_first_line(err) or type(err).__name__}"
    )


def load_weights(name: str, **kwargs):
    """``MarianMTModel.from_pretrained`` with a one-line error for broken directories."""
    from transformers import MarianMTModel

    try:
        return MarianMTModel.from_pretrained(name, **kwargs)
    except (OSError, ValueError, TypeError) as err:
        raise ZhenError(_incomplete(name, err)) from None


def model_fingerprint(name: str) -> str:
    """A hash identifying the model's files (weights, vocabulary, config).

    For a directory, the contents of its files; for a hub id, the commit the
    hub cache resolved it to. Translations are cached under it, so a
    retrained model never serves its predecessor's output.
    """
    digest = hashlib.sha256()
    path = Path(name)
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.is_file()):
            digest.update(file.name.encode() + b"\0")
            with file.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
    else:
        from transformers import AutoConfig

        digest.update(name.encode() + b"\0")
        digest.update(str(getattr(AutoConfig.from_pretrained(name), "_commit_hash", "")).encode())
    return digest.hexdigest()


def _looks_like_path(name: str) -> bool:
    """Hub ids look like ``org/name``; anything else with a slash is a path."""
    first = name.split("/", 1)[0]
    return (
        Path(name).exists()
        or name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or ("/" in name and Path(first).is_dir())  # models/opus-mt-zh-en
    )


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else ""


def download(name: str, target: Path) -> None:
    """Fetch a MarianMT model from the hub and save it to ``target`` for offline use."""
    name, tokenizer = load_tokenizer(name)
    model = load_weights(name)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(target)
    model.save_pretrained(target)
