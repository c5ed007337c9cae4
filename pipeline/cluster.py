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
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .engines import Output, choose_engine
from .engines.ct2 import converted_model, converted_path
from .errors import ZhenError
from .settings import MODELS_DIR_ENV_VAR
from .translate import DecodingOptions, Translator

log = logging.getLogger(__name__)

INSTALL = 'pip install "zhen[ray]"'
# Engine batches per actor call, per thread: every thread busy, and
# progress coming back often.
BATCHES_PER_CALL = 2
# Actors at most this many threads each by default: CTranslate2 runs one
# batch per thread, and a smaller actor restarts faster.
DEFAULT_THREADS = 4


@dataclass(frozen=True)
class ShippedModel:
    """A model directory's files, and its CTranslate2 copy's, in the object
    store once: each file's object reference, by file name."""

    name: str  # the directory's own name
    fingerprint: str
    files: dict[str, Any]
    converted: dict[str, Any]  # empty: the engine is transformers


@contextmanager
def connect(address: str | None, actors: int | None, threads: int | None) -> Iterator[RayCluster]:
    """A connection to the cluster at ``address`` (what ``ray.init`` takes:
    ``auto``, ``host:6379``, ``ray://host:10001``; None: ``$RAY_ADDRESS``, else
    a Ray started on this machine for the run), closed at the end."""
    try:
        import ray
    except ImportError:
        raise ZhenError(f"--ray needs Ray: {INSTALL}") from None
    if address and Path(address).exists():
        raise ZhenError(f"--ray {address}: that is a file; put --ray after the documents, or give it an address")
    # Not ray.init()'s own default, which joins whatever Ray runs on this machine.
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    if address not in ("auto", "local"):
        _check_reachable(address)
    quiet = not log.isEnabledFor(logging.DEBUG)  # Ray's own messages only with zhen -v
    if quiet:  # Ray's C++ core logs a warning for every actor Ray Data starts
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        with _silenced_stderr(quiet):  # where Ray's C++ core says it read that setting
            ray.init(
                address=address,
                log_to_driver=not quiet,
                logging_level=logging.ERROR if quiet else logging.INFO,
                include_dashboard=False,
            )
    except Exception as err:  # ConnectionError, version mismatch, a missing ray[client], ...
        raise ZhenError(f"cannot connect to the Ray cluster at {address}: {_first_line(err)}") from None
    _quiet_ray_data(quiet)
    try:
        yield RayCluster(address, actors, threads)
    finally:
        ray.shutdown()


class RayCluster:
    """The cluster as ``pipeline.run`` sees it: something that translates a
    window's sentences into the translator's cache (``run(translate_first=...)``)."""

    def __init__(self, address: str, actors: int | None, threads: int | None):
        import ray

        resources = ray.cluster_resources()
        self.address = address
        self.gpus = int(resources.get("GPU", 0))
        node_cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
        cpus = int(resources.get("CPU", 0))
        # By default, as many threads as fit: at most 4, a node's CPUs, the cluster's share of each actor asked for.
        fitting = [DEFAULT_THREADS, min((c for c in node_cpus if c), default=1), *([cpus // actors] if actors else [])]
        self.threads = threads or max(1, min(fitting))
        per_actor = 1 if self.gpus else self.threads
        self.actors = actors or max(1, (self.gpus or cpus) // per_actor)
        # Ray would wait for ever for an actor that no node can hold.
        if not self.gpus and self.threads > max(node_cpus, default=0):
            raise ZhenError(f"--threads {self.threads}: no node of the Ray cluster has that many CPUs ({node_cpus})")
        if not self.gpus and self.actors * self.threads > cpus:
            raise ZhenError(
                f"--ray-actors {self.actors} × --threads {self.threads} needs {self.actors * self.threads} CPUs; "
                f"the Ray cluster has {cpus}"
            )
        if self.gpus and self.actors > self.gpus:
            raise ZhenError(f"--ray-actors {self.actors}: the Ray cluster has {self.gpus} GPUs, one an actor")
        self._model: ShippedModel | None = None  # the model directory in the object store, put once

    def options(self, options: DecodingOptions) -> DecodingOptions:
        """The decoding options of the actors, ``auto`` resolved for the
        cluster's hardware (a GPU each where it has GPUs): the driver's
        translator keys its cache by them, so it finds what they translated."""
        device = "cuda" if self.gpus and options.device == "auto" else options.device
        if device == "auto":
            device = "cpu"
        if device.startswith("cuda") and not self.gpus:
            raise ZhenError(f"--device {device}: the Ray cluster has no GPUs; use --device cpu")
        engine, device = choose_engine(options.engine, device, here=False)
        return replace(options, engine=engine, device=device, threads=self.threads)

    def __call__(self, translator: Translator, documents: list[list[str]]) -> None:
        """Translate on the cluster what the cache lacks of each document's
        sentences, storing it there: exactly the batches a local run would
        decode (:meth:`Translator.batches_to_decode`), then, as a local run
        does, each document's looping outputs again in batches of their own."""
        batches = [
            (number, batch) for number, found in enumerate(translator.batches_to_decode(documents)) for batch in found
        ]
        if not batches:
            return
        pieces = sum(len(batch) for _, batch in batches)
        log.info(
            "translating %d sentences (or pieces of long ones) on the Ray cluster: %d actors × %d threads",
            pieces,
            self.actors,
            self.threads,
        )
        looping: dict[int, list[str]] = {}  # by batch, so each document's come in batch order
        with tqdm(total=pieces, unit="sentence", desc="translating on Ray", disable=None) as bar:
            for index, outputs in self._decode(translator, [batch for _, batch in batches]):
                looping[index] = translator.looping(outputs)
                translator.store({p: out for p, out in outputs.items() if p not in looping[index]}, set())
                bar.update(len(outputs) - len(looping[index]))
            by_document: dict[int, list[str]] = {}
            for index, (number, _) in enumerate(batches):
                by_document.setdefault(number, []).extend(looping[index])
            again = [batch for found in by_document.values() for batch in translator.guard_batches(found)]
            for _, outputs in self._decode(translator, again, guard=True):
                translator.store(outputs, set(outputs))
                bar.update(len(outputs))

    def _decode(
        self, translator: Translator, batches: list[list[str]], guard: bool = False
    ) -> Iterator[tuple[int, dict[str, Output]]]:
        """Each batch's outputs, by the batch's index, as they come back from the actor pool."""
        import ray

        if not batches:
            return
        decoded = ray.data.from_items(
            [{"index": index, "pieces": batch} for index, batch in enumerate(batches)],
            override_num_blocks=len(batches),
        ).map_batches(
            BatchDecoder,
            fn_constructor_kwargs={"model": [self._shipped(translator)], "options": translator.options},
            fn_kwargs={"guard": guard},
            batch_size=BATCHES_PER_CALL * self.threads,
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
            rows: Iterable[Any] = decoded.iter_rows()
            for row in rows:
                outputs = [
                    Output(tuple(int(i) for i in ids.split()), float(logprob), bool(finished))
                    for ids, logprob, finished in zip(row["ids"], row["logprob"], row["finished"], strict=True)
                ]
                yield int(row["index"]), dict(zip(batches[row["index"]], outputs, strict=True))
        except ZhenError:
            raise
        except Exception as err:
            raise ZhenError(f"the Ray cluster failed: {_cause(err)}") from None

    def _shipped(self, translator: Translator) -> str | ShippedModel:
        """The model for the actors: a hub id as it is (each node fetches it),
        a directory through the object store, once per run."""
        name = translator.model.name
        if not Path(name).is_dir():
            return name
        if self._model is None:
            converted = (
                converted_model(name, translator.model.fingerprint)
                if translator.options.engine == "ctranslate2"
                else None
            )
            self._model = ShippedModel(
                Path(name).resolve().name, translator.model.fingerprint, _put(Path(name)), _put(converted)
            )
        return self._model


def _put(directory: Path | None) -> dict[str, Any]:
    """Each file of ``directory`` into the object store, read there by a task
    on this machine's node, so that the driver never holds the model (600 MB
    for opus-mt and its CTranslate2 copy); with Ray Client, where this
    machine is no node, sent from here one file at a time."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    files = sorted(f for f in directory.iterdir() if f.is_file()) if directory else []
    if ray.util.client.ray.is_connected():
        return {f.name: ray.put(f.read_bytes()) for f in files}
    if not files:
        return {}
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    read = ray.remote(num_cpus=0)(_read_files).options(scheduling_strategy=here, num_returns=len(files))
    refs: Any = read.remote([str(f.resolve()) for f in files])  # a worker's directory is not ours
    return dict(zip((f.name for f in files), refs if len(files) > 1 else [refs], strict=True))


def _read_files(paths: list[str]) -> bytes | list[bytes]:
    """The files' bytes, each a return value (an object of its own) of one task."""
    found = [Path(path).read_bytes() for path in paths]
    return found if len(found) > 1 else found[0]


class BatchDecoder:
    """A Ray Data actor: the model loaded once, decoding the batches it is
    given, each as one call of the engine (no cache, no loop guard: the
    driver decides what is decoded again)."""

    def __init__(self, model: list, options: DecodingOptions):
        shipped = model[0]  # in a list: Ray Data would copy it into the object store again
        name = shipped if isinstance(shipped, str) else _unpack(shipped)
        self.translator = Translator.load(name, options, use_cache=False)

    def __call__(self, rows, guard: bool = False):
        batches = [list(pieces) for pieces in rows["pieces"]]
        outputs = [results for _, results in self.translator.decode_batches(batches, guard)]
        rows["ids"] = [[" ".join(map(str, out.ids)) for out in results] for results in outputs]
        rows["logprob"] = [[out.logprob for out in results] for results in outputs]
        rows["finished"] = [[out.finished for out in results] for results in outputs]
        return rows.drop(columns="pieces")


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


def _write_once(directory: Path, files: dict[str, Any]) -> None:
    """Write ``files`` (object references) into ``directory`` unless there,
    one at a time; two actors at once: one rename wins."""
    import ray

    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=directory.parent))
    try:
        for name, data in files.items():
            (scratch / name).write_bytes(ray.get(data))
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


@contextmanager
def _silenced_stderr(silenced: bool) -> Iterator[None]:
    """File descriptor 2 to /dev/null: Ray's C++ core writes there directly.
    Its failures still reach zhen as exceptions, and become its one line."""
    if not silenced:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()  # Ray colours its messages
    return text.splitlines()[0] if text else type(err).__name__
