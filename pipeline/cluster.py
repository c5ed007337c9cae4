"""Translating on a Ray cluster: the model's work spread over an actor pool by Ray Data.

Only the model runs on the cluster. The driver (the ``zhen run`` process)
reads, segments, plans and writes as a local run does, and alone owns the
translation cache, the translation memory and the output files. Each
window's pieces that the cache lacks stream through a Ray Data actor pool
(each actor loads the model once) and back into the cache, batch by batch;
the local translation then finds them all there. So the files are a local
run's, byte for byte, a driver killed mid-run loses only the batches in
flight, and actors never open SQLite.

Segmenting stays on the driver: it is a few per cent of the model's time
(``make bench-segment``), and the driver needs every sentence again to
write the document.

Ray is imported only here, and this module only with ``--ray``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .engines import Output, choose_engine
from .engines.ct2 import converted_model, converted_path
from .errors import ZhenError
from .settings import MODELS_DIR_ENV_VAR
from .translate import DecodingOptions, Translator

log = logging.getLogger(__name__)

INSTALL = 'pip install "zhen[ray]"'
# Pieces per actor call: a few of the engine's batches, so that every
# thread is busy and progress comes back often.
PIECES_PER_CALL = 64
# Actors at most this many threads each by default: CTranslate2 runs one
# batch per thread, and a smaller actor restarts faster.
DEFAULT_THREADS = 4


@dataclass(frozen=True)
class ShippedModel:
    """A model directory's files, and its CTranslate2 copy's, sent once through the object store."""

    name: str  # the directory's own name
    fingerprint: str
    files: dict[str, bytes]
    converted: dict[str, bytes]  # empty: the engine is transformers


@contextmanager
def connect(address: str | None, actors: int | None, threads: int | None) -> Iterator[RayCluster]:
    """A connection to the cluster at ``address`` (what ``ray.init`` takes:
    ``auto``, ``host:6379``, ``ray://host:10001``; None: ``$RAY_ADDRESS``, else
    a Ray started on this machine for the run), closed at the end."""
    try:
        import ray
    except ImportError:
        raise ZhenError(f"--ray needs Ray: {INSTALL}") from None
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and Path(address).exists():
        raise ZhenError(f"--ray {address}: that is a file; put --ray after the documents, or give it an address")
    if address not in (None, "auto", "local"):
        _check_reachable(address)
    quiet = not log.isEnabledFor(logging.DEBUG)  # Ray's own messages only with zhen -v
    if quiet:  # Ray's C++ core logs a warning for every actor Ray Data starts
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        ray.init(
            address=address,
            log_to_driver=not quiet,
            logging_level=logging.ERROR if quiet else logging.INFO,
            include_dashboard=False,
        )
    except Exception as err:  # ConnectionError, version mismatch, a missing ray[client], ...
        raise ZhenError(
            f"cannot connect to the Ray cluster at {address or 'a new local Ray'}: {_first_line(err)}"
        ) from None
    _quiet_ray_data(quiet)
    try:
        yield RayCluster(address, actors, threads)
    finally:
        ray.shutdown()


class RayCluster:
    """The cluster as ``pipeline.run`` sees it: something that translates a
    window's sentences into the translator's cache (``run(translate_first=...)``)."""

    def __init__(self, address: str | None, actors: int | None, threads: int | None):
        import ray

        resources = ray.cluster_resources()
        self.address = address
        self.gpus = int(resources.get("GPU", 0))
        node_cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
        self.threads = threads or max(1, min(DEFAULT_THREADS, min((c for c in node_cpus if c), default=1)))
        per_actor = 1 if self.gpus else self.threads
        self.actors = actors or max(1, (self.gpus or int(resources.get("CPU", 1))) // per_actor)
        self._model: Any = None  # the object store's reference to the model, put once

    def options(self, options: DecodingOptions) -> DecodingOptions:
        """The decoding options of the actors, ``auto`` resolved for the
        cluster's hardware (a GPU each where it has GPUs): the driver's
        translator keys its cache by them, so it finds what they translated."""
        device = "cuda" if self.gpus and options.device == "auto" else options.device
        if device == "auto":
            device = "cpu"
        engine, device = choose_engine(options.engine, device, here=False)
        return replace(options, engine=engine, device=device, threads=self.threads)

    def __call__(self, translator: Translator, sentences: list[str]) -> None:
        """Translate on the cluster the pieces of ``sentences`` the cache lacks, storing them there."""
        import ray
        from tqdm import tqdm

        missing = translator.missing(sentences)
        if not missing:
            return
        log.info(
            "translating %d sentences (or pieces of long ones) on the Ray cluster: %d actors × %d threads",
            len(missing),
            self.actors,
            self.threads,
        )
        decoded = ray.data.from_items(
            [{"piece": piece} for piece in missing], override_num_blocks=math.ceil(len(missing) / PIECES_PER_CALL)
        ).map_batches(
            PieceDecoder,
            fn_constructor_kwargs={"model": [self._shipped(translator)], "options": translator.options},
            batch_size=PIECES_PER_CALL,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=self.actors),
            num_cpus=0 if self.gpus else self.threads,
            num_gpus=1 if self.gpus else 0,
            # Ray Data's defaults do the fault tolerance: an actor that dies
            # is started again and its batch retried (max_restarts and
            # max_task_retries -1), one that cannot even load the model fails
            # the run after a few tries (max_consecutive_actor_init_deaths).
        )
        try:
            with tqdm(total=len(missing), unit="sentence", desc="translating on Ray", disable=None) as bar:
                batches: Iterable[Any] = decoded.iter_batches(batch_size=None, batch_format="pandas")
                for batch in batches:  # pandas DataFrames
                    outputs = {
                        row.piece: Output(
                            tuple(int(i) for i in row.ids.split()), float(row.logprob), bool(row.finished)
                        )
                        for row in batch.itertuples()
                    }
                    translator.store(outputs, set(batch.piece[batch.retried]))
                    bar.update(len(outputs))
        except ZhenError:
            raise
        except Exception as err:
            raise ZhenError(f"the Ray cluster failed: {_cause(err)}") from None

    def _shipped(self, translator: Translator) -> Any:
        """The model for the actors: a hub id as it is (each node fetches it),
        a directory through the object store, once per run."""
        import ray

        name = translator.model.name
        if not Path(name).is_dir():
            return name
        if self._model is None:
            converted = (
                converted_model(name, translator.model.fingerprint)
                if translator.options.engine == "ctranslate2"
                else None
            )
            self._model = ray.put(
                ShippedModel(
                    Path(name).resolve().name, translator.model.fingerprint, _files(Path(name)), _files(converted)
                )
            )
        return self._model


class PieceDecoder:
    """A Ray Data actor: the model loaded once, decoding the pieces it is given (no cache)."""

    def __init__(self, model: list, options: DecodingOptions):
        import ray

        shipped = model[0] if isinstance(model[0], str) else ray.get(model[0])
        name = shipped if isinstance(shipped, str) else _unpack(shipped)
        self.translator = Translator.load(name, options, use_cache=False)

    def __call__(self, batch):
        pieces = list(batch["piece"])
        outputs: dict[str, Output] = {}
        retried: set[str] = set()
        for done, again in self.translator.decode(pieces):
            outputs.update(done)
            retried |= again
        batch["ids"] = [" ".join(map(str, outputs[p].ids)) for p in pieces]
        batch["logprob"] = [outputs[p].logprob for p in pieces]
        batch["finished"] = [outputs[p].finished for p in pieces]
        batch["retried"] = [p in retried for p in pieces]
        return batch


def _files(directory: Path | None) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(directory.iterdir()) if f.is_file()} if directory else {}


def _unpack(model: ShippedModel) -> str:
    """The shipped model written out on this node, once for all its actors:
    ``<tmp>/zhen-ray/<fingerprint>/<name>``, its CTranslate2 copy where the
    engine looks for it."""
    root = Path(tempfile.gettempdir()) / "zhen-ray" / model.fingerprint[:16]
    os.environ[MODELS_DIR_ENV_VAR] = str(root)  # this actor's process only
    directory = root / model.name
    _write_once(directory, model.files)
    if model.converted:
        _write_once(converted_path(str(directory), model.fingerprint), model.converted)
    return str(directory)


def _write_once(directory: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into ``directory`` unless there; two actors at once: one rename wins."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=directory.parent))
    try:
        for name, data in files.items():
            (scratch / name).write_bytes(data)
        try:
            os.rename(scratch, directory)
        except OSError:
            if not directory.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_reachable(address: str) -> None:
    """Ray waits minutes for an address nobody listens on; we ask for a few seconds."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ZhenError(f"--ray {address}: not an address (auto, host:6379 or ray://host:10001)")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ZhenError(
            f"cannot reach the Ray cluster at {address}: {reason} (is `ray start --head` running there?)"
        ) from None


def _quiet_ray_data(quiet: bool) -> None:
    """Ray Data's progress and plans are for its own users; zhen has its own bar."""
    from ray.data import DataContext

    if quiet:
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False


def _cause(err: BaseException) -> str:
    """A zhen error raised on the cluster (a model a node cannot load), else Ray's first line."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ZhenError):
            return str(seen)
        seen = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
    return _first_line(err)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
