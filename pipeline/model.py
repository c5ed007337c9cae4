"""Finding, checking, describing and downloading MarianMT models.

A model is a hub id (``Helsinki-NLP/opus-mt-zh-en``) or a directory with
its files. Everything here reads the model's JSON files directly (through
``huggingface_hub`` for a hub id) rather than through ``transformers``'
config classes, which import PyTorch: the CTranslate2 engine does not need
it, and a run that finds its translations in the cache starts in a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .errors import ZhenError
from .settings import DEFAULT_MODEL, MODEL_ENV_VAR, SAVED_MODEL_DIR, conversions_dir
from .textio import atomic_write

# Seconds to wait for the hub before deciding there is no network.
HUB_PROBE_TIMEOUT = 3.0


class ModelUnavailable(ZhenError):
    """The model cannot be loaded: ``problem`` says why, and the message adds
    the ways out that need nothing the user lacks (``advice``); a command may
    give its own instead (``align --no-mt``)."""

    def __init__(self, problem: str, advice: str = ""):
        super().__init__(f"{problem}; {advice}" if advice else problem)
        self.problem, self.advice = problem, advice


@dataclass(frozen=True)
class ModelInfo:
    """What a model's files fix: its identity, input size and decoding settings."""

    name: str  # hub id, or the directory as a path
    fingerprint: str  # changes whenever the model's files do
    max_tokens: int  # longest input or output, </s> included (position embeddings)
    generation: dict  # the model's own decoding settings (generation_config.json)

    @property
    def beams(self) -> int:
        return int(self.generation.get("num_beams") or 1)

    @property
    def min_new_tokens(self) -> int:
        # For encoder-decoders, generation lengths count the decoder start token.
        return max(0, int(self.generation.get("min_length") or 0) - 1)

    @property
    def no_repeat_ngram_size(self) -> int:
        return int(self.generation.get("no_repeat_ngram_size") or 0)

    @property
    def repetition_penalty(self) -> float:
        return float(self.generation.get("repetition_penalty") or 1.0)

    @property
    def length_penalty(self) -> float:
        value = self.generation.get("length_penalty")
        return 1.0 if value is None else float(value)

    @property
    def bad_words_ids(self) -> tuple[tuple[int, ...], ...]:
        """Token sequences never to output; <pad> alone is left out, as neither engine ever outputs it."""
        pad = self.generation.get("pad_token_id")
        found = self.generation.get("bad_words_ids") or []
        return tuple(tuple(map(int, words)) for words in found if list(words) != [pad])


def open_model(name: str):
    """Check that ``name`` is a MarianMT model; return ``(ModelInfo, tokenizer)``.

    Every problem is a one-line ModelUnavailable saying what to do. Nothing
    slow happens before the cheap checks: a missing directory or an
    unreachable hub fails at once.
    """
    name = reachable(name)
    config = _read_json(name, "config.json")
    if config is None:
        raise ModelUnavailable(f"{name} is not a model: it has no config.json", way_out(name))
    if config.get("model_type") != "marian":
        raise ModelUnavailable(f"{name} is a {config.get('model_type')!r} model, not MarianMT", way_out(name))
    # Older exports keep the decoding settings in config.json.
    generation = _read_json(name, "generation_config.json") or config
    tokenizer = _load_tokenizer(name)
    # GenerationConfig's default max_length (20) is no limit of the model.
    limits = [
        config.get("max_position_embeddings", 1024),
        tokenizer.model_max_length,
        generation.get("max_length") or 10**6,
    ]
    return ModelInfo(name, fingerprint(name), int(min(limits)), generation), tokenizer


OFFLINE_ADVICE = (
    f"offline, use a MarianMT directory you have (--model DIR, ${MODEL_ENV_VAR} or make MODEL=DIR), "
    "or try the pipeline on a random-weight model: make tiny-model && make MODEL=models/tiny-random"
)


def way_out(name: str) -> str:
    """What to do when model ``name`` cannot be loaded, in the user's situation."""
    if name in (DEFAULT_MODEL, str(SAVED_MODEL_DIR)):
        saving = f"`make model` (or `zhen download-model`) saves it into {SAVED_MODEL_DIR} with network once"
        return f"{saving}; {OFFLINE_ADVICE}"
    return f"give --model a MarianMT directory or hub id (or set ${MODEL_ENV_VAR})"


def reachable(name: str, advice: str | None = None) -> str:
    """``name`` if it is an existing directory (as a path) or a hub id that is
    in the Hugging Face cache or can be downloaded; otherwise a one-line
    ModelUnavailable ending in ``advice`` (default: :func:`way_out`). Fails at
    once instead of after half a minute of retries; without network, the
    cached copy is used straight away."""
    advice = way_out(name) if advice is None else advice
    if looks_like_path(name):
        path = Path(name).expanduser()
        if path.is_file():
            raise ModelUnavailable(f"{name} is a file, not a model directory or hub id", advice)
        if not path.is_dir():
            raise ModelUnavailable(f"model directory {name} does not exist", advice)
        return str(path)
    by_user = _hub_offline()
    if not by_user and not _hub_reachable():
        _go_offline()
    if _hub_offline() and not _cached(name):
        why = "HF_HUB_OFFLINE is set" if by_user else f"{_hub_host()[0]} cannot be reached (no network?)"
        raise ModelUnavailable(f"cannot download model {name}: {why}, and it is not in the Hugging Face cache", advice)
    return name


def _hub_host() -> tuple[str, int]:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return endpoint.hostname or "huggingface.co", endpoint.port or (80 if endpoint.scheme == "http" else 443)


def _hub_reachable() -> bool:
    """Can we open a connection to the hub? (Through a proxy we cannot tell: assume so.)"""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    reached: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(_hub_host(), timeout=HUB_PROBE_TIMEOUT).close()
            reached.append(True)
        except OSError:
            reached.append(False)

    # A thread, because name resolution has no timeout of its own.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(HUB_PROBE_TIMEOUT + 0.5)
    return bool(reached and reached[0])


def _offline_by_user() -> bool:
    return any(
        os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return _offline_by_user() or constants.HF_HUB_OFFLINE


def _go_offline() -> None:
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"  # for libraries that read it later
    constants.HF_HUB_OFFLINE = True  # huggingface_hub read it when imported


def _cached(name: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except ValueError:  # not a valid hub id
        return False


def model_file(name: str, filename: str) -> Path | None:
    """A file of the model, downloading it for a hub id; None if the model has no such file."""
    if Path(name).is_dir():
        path = Path(name) / filename
        return path if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(name, filename))
    except EntryNotFoundError:  # offline, an optional file that was never downloaded too
        return None
    except (OSError, ValueError) as err:  # no such repository, no network, not a valid id, ...
        raise ModelUnavailable(f"cannot load model {name!r} ({_first_line(err)})", way_out(name)) from None


def _read_json(name: str, filename: str) -> dict | None:
    path = model_file(name, filename)
    if path is None:
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as err:
        raise ModelUnavailable(f"{path} cannot be read as JSON ({_first_line(err)})") from None
    if not isinstance(found, dict):
        raise ModelUnavailable(f"{path} is not a JSON object")
    return found


def _load_tokenizer(name: str):
    from transformers import MarianTokenizer

    try:
        return MarianTokenizer.from_pretrained(name)
    except (OSError, ValueError, TypeError, AssertionError, RuntimeError) as err:
        # MarianTokenizer asserts on, or passes None for, missing .spm files;
        # SentencePiece raises RuntimeError on a damaged one.
        raise ModelUnavailable(incomplete(name, err)) from None


def incomplete(name: str, err: BaseException) -> str:
    return (
        f"{name} is not a complete MarianMT model (it needs source.spm, target.spm, "
        f"vocab.json and weights): {_first_line(err) or type(err).__name__}"
    )


def load_weights(name: str, **kwargs):
    """``MarianMTModel.from_pretrained`` with a one-line error for broken directories."""
    from transformers import MarianMTModel

    try:
        return MarianMTModel.from_pretrained(name, **kwargs)
    except Exception as err:  # a damaged weights file fails in safetensors', torch's or pickle's own way
        raise ModelUnavailable(incomplete(name, err)) from None


def fingerprint(name: str) -> str:
    """A hash identifying the model's files (weights, vocabulary, config).

    For a directory, the contents of its files; for a hub id, the commit the
    hub cache resolved it to. Translations are cached under it, so a
    retrained model never serves its predecessor's output.
    """
    digest = hashlib.sha256()
    path = Path(name)
    if path.is_dir():
        return _directory_fingerprint(path)
    else:
        config = model_file(name, "config.json")
        commit = config.parent.name if config else ""  # .../snapshots/<commit>/config.json
        digest.update(name.encode() + b"\0" + commit.encode())
    return digest.hexdigest()


def _directory_fingerprint(path: Path) -> str:
    """The hash of a model directory's files, remembered by their names, sizes
    and modification times: hashing opus-mt's 300 MB takes a good part of a
    second, every run, and a changed file never keeps both."""
    files = sorted(p for p in path.iterdir() if p.is_file())
    listing = json.dumps([(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files])
    key = hashlib.sha256(f"{path.resolve()}\0{listing}".encode()).hexdigest()
    memo = conversions_dir(str(path)) / "fingerprints.json"
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and isinstance(known.get(key), str):
        return known[key]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    found = digest.hexdigest()
    try:  # a cache: failing to write it only costs the next run the hashing
        memo.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(memo, json.dumps({**(known if isinstance(known, dict) else {}), key: found}).encode())
    except (OSError, ZhenError):
        pass
    return found


def looks_like_path(name: str) -> bool:
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
    info, tokenizer = open_model(name)
    model = load_weights(info.name)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(target)
    model.save_pretrained(target)
