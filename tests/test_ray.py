"""``zhen run --ray``: the model's work on a Ray cluster, the files exactly a local run's.

Real Ray clusters on this machine: one started by zhen for the run, and
two nodes started with ``ray.cluster_utils.Cluster`` (each a raylet with
its own workers, as on two machines), stopped by their own processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, run_cli

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'zhen[ray]')")

pytestmark = pytest.mark.slow

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def corpus(folder: Path, sentences: int = 0) -> list[Path]:
    """The sample document, two documents sharing sentences with it and with
    each other (duplicates across documents), and optionally a long one."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    (folder / "a.txt").write_text("\n".join(lines[:12]) + "\n小米的生态链很大。\n", encoding="utf-8")
    (folder / "b.md").write_text("# 标题\n\n" + "\n\n".join(lines[6:20]) + "\n\n小米的生态链很大。\n", encoding="utf-8")
    documents = [SAMPLE, folder / "a.txt", folder / "b.md"]
    if sentences:
        long = folder / "long.txt"
        long.write_text("".join(f"第{n}个句子说的是数字{n * 7919 % 10007}。\n" for n in range(sentences)), "utf-8")
        documents.append(long)
    return documents


def zhen_run(documents: list[Path], out: Path, model: Path, *options: str, cache: Path):
    """``zhen run``, with a cache and a translation memory of its own (beside the cache)."""
    memory = ("--new-tm", cache.with_suffix(".tm.sqlite"))
    result = run_cli("run", *documents, "--out", out, "--model", model, "--cache", cache, *memory, *options, env=EPOCH)
    assert result.returncode == 0, result.stderr.decode()
    return result


def files(out: Path) -> dict[str, bytes]:
    """The files in ``out``, which they name as OUT (an approval says which PO it was made in)."""
    found = {path.name: path.read_bytes().replace(str(out).encode(), b"OUT") for path in sorted(out.iterdir())}
    assert any(name.endswith(".tmx") for name in found) and any(name.endswith(".po") for name in found)
    return found


def cache_rows(cache: Path) -> tuple[int, int]:
    """Rows in the translation cache, and distinct (model, settings, source) among them."""
    with sqlite3.connect(cache) as db:
        return db.execute(
            "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT model, settings, source FROM translations)) "
            "FROM translations"
        ).fetchone()


def test_local_ray_writes_the_files_of_a_local_run_and_the_review_loop_behaves_the_same(tmp_path, tiny_model):
    """A Ray started for the run, two worker processes (2 actors × 1 thread):
    byte-identical TMX, PO and translated documents; then a reviewer approves
    an entry in each, and the reruns stay identical, the approval kept."""
    documents = corpus(tmp_path / "corpus")
    local, clustered = tmp_path / "local", tmp_path / "ray"
    zhen_run(documents, local, tiny_model, cache=tmp_path / "local.sqlite")
    result = zhen_run(
        documents, clustered, tiny_model, "--ray", "--ray-actors", "2", "--threads", "1", cache=tmp_path / "ray.sqlite"
    )
    assert files(clustered) == files(local)
    assert "on the Ray cluster: 2 actors × 1 threads" in result.stderr.decode()
    assert cache_rows(tmp_path / "ray.sqlite") == cache_rows(tmp_path / "local.sqlite")

    import polib

    for out in (local, clustered):
        po = polib.pofile(str(out / "a.po"))
        entry = next(e for e in po if e.msgid == "小米的生态链很大。")
        entry.msgstr, entry.flags = "Xiaomi's ecosystem is big.", []
        po.save()
    zhen_run(documents, local, tiny_model, "--no-cache", cache=tmp_path / "local.sqlite")
    zhen_run(
        documents, clustered, tiny_model, "--no-cache", "--ray", "--ray-actors", "2", cache=tmp_path / "ray.sqlite"
    )
    assert files(clustered) == files(local)
    assert "Xiaomi's ecosystem is big." in (clustered / "b.po").read_text(encoding="utf-8")  # from the memory


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """A head and a second node, one CPU each: two raylets, as on two machines."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster.address
    cluster.shutdown()


def test_two_nodes_write_the_files_of_a_local_run(tmp_path, tiny_model, two_nodes):
    documents = corpus(tmp_path / "corpus")
    zhen_run(documents, tmp_path / "local", tiny_model, cache=tmp_path / "local.sqlite")
    result = zhen_run(
        documents, tmp_path / "ray", tiny_model, "--ray", two_nodes, "--threads", "1", cache=tmp_path / "ray.sqlite"
    )
    assert files(tmp_path / "ray") == files(tmp_path / "local")
    assert "2 actors × 1 threads" in result.stderr.decode()  # one a node: the cluster's CPUs at 1 thread each


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (("--threads", "2"), "--threads 2: no node of the Ray cluster has that many CPUs"),
        (("--threads", "1", "--ray-actors", "3"), "--ray-actors 3 × --threads 1 needs 3 CPUs; the Ray cluster has 2"),
        (("--device", "cuda"), "--device cuda: the Ray cluster has no GPUs"),
    ],
)
def test_a_pool_the_cluster_cannot_hold_is_a_one_line_error_not_a_wait(tmp_path, tiny_model, two_nodes, options, error):
    result = run_cli("run", SAMPLE, "--out", tmp_path / "out", "--model", tiny_model, "--ray", two_nodes, *options)
    assert result.returncode == 1
    (line,) = result.stderr.decode().strip().splitlines()
    assert line.startswith(f"zhen: error: {error}"), line
    assert not (tmp_path / "out").exists()


def test_an_actor_killed_mid_run_is_replaced_and_the_files_are_complete(tmp_path, tiny_model, two_nodes):
    documents = corpus(tmp_path / "corpus", sentences=6000)
    cache = tmp_path / "ray.sqlite"
    command = [sys.executable, "-m", "pipeline", "run", *map(str, documents), "--out", str(tmp_path / "ray")]
    command += ["--model", str(tiny_model), "--cache", str(cache), "--ray", two_nodes, "--threads", "1"]
    run = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **EPOCH}, stderr=subprocess.PIPE)
    victim, stored = _actor_once_translating(cache)
    os.kill(victim, signal.SIGKILL)
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr.decode()
    total, distinct = cache_rows(cache)
    assert stored < total, "the actor was killed after the work was done"
    assert total == distinct  # no duplicate rows

    zhen_run(documents, tmp_path / "local", tiny_model, cache=tmp_path / "local.sqlite")
    assert files(tmp_path / "ray") == files(tmp_path / "local")
    assert cache_rows(tmp_path / "local.sqlite") == (total, distinct)


def _actor_once_translating(cache: Path) -> tuple[int, int]:
    """The PID of a translation actor (Ray titles its process after the
    class), once the first translations are in the cache; and how many are."""
    from pipeline.cluster import BatchDecoder

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        actors = [pid for pid, title in _processes() if f"MapBatches({BatchDecoder.__name__})" in title]
        rows = cache_rows(cache)[0] if cache.exists() else 0
        if actors and rows:
            return actors[0], rows
        time.sleep(0.05)
    pytest.fail("no translation actor started within 2 minutes")


def _processes():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue


def test_an_address_nobody_listens_on_is_a_one_line_error_and_nothing_is_written(tmp_path, tiny_model):
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = run_cli("run", SAMPLE, "--out", tmp_path / "out", "--model", tiny_model, "--ray", f"127.0.0.1:{port}")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    stderr = result.stderr.decode().strip()
    assert stderr.count("\n") == 0 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in stderr, stderr
    assert not (tmp_path / "out").exists()


def test_without_ray_installed_the_error_names_the_install_command(monkeypatch, capsys):
    from pipeline.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as without the extra
    assert main(["run", str(SAMPLE), "--out", "unused", "--ray"]) == 1
    assert 'pip install "zhen[ray]"' in capsys.readouterr().err


def test_ray_is_not_imported_without_ray(tmp_path, tiny_model):
    code = (
        "import sys; from pipeline.cli import main; "
        f"main(['run', {str(SAMPLE)!r}, '--out', {str(tmp_path)!r}, '--model', {str(tiny_model)!r}]); "
        "assert 'ray' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True).returncode == 0


def test_make_with_ray_builds_what_make_builds(tmp_path, tiny_model):
    """``make RAY=local``: one ``zhen run --ray`` over the out-of-date documents, the same files."""
    from conftest import run_make

    for folder in ("local", "ray"):
        corpus(tmp_path / folder / "corpus")
        shutil.copy(SAMPLE, tmp_path / folder / "corpus")
    for folder, options in ((tmp_path / "local", ()), (tmp_path / "ray", ("RAY=local",))):
        result = run_make(folder, tiny_model, *options, "TM=tm.sqlite", "NEW_TM=1", env={**os.environ, **EPOCH})
        assert result.returncode == 0, result.stderr
    assert files(tmp_path / "ray" / "out") == files(tmp_path / "local" / "out")
    result = run_make(tmp_path / "ray", tiny_model, "RAY=local", "TM=tm.sqlite", env={**os.environ, **EPOCH})
    assert result.returncode == 0 and "run" not in result.stdout  # nothing out of date: Ray not even started
