"""The ray engine (a local Ray cluster) builds the same bytes as the local one; its failures are the local ones'."""

from __future__ import annotations

import gzip
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llasmol.chem import formula_of_smiles
from llasmol.cli import app
from llasmol.data import DataFormatError
from llasmol.data.build import build_dataset
from llasmol.data.build.config import BuildConfig, BuildConfigError, build_config_from_dict, build_config_with_engine
from llasmol.data.build.engines import RayEngine, RayNotInstalledError


@pytest.fixture(scope="module")
def ray_cluster() -> Any:
    """A local Ray cluster of 2 CPUs for the module (the engine joins it and leaves it running)."""
    ray = pytest.importorskip("ray", reason="the ray engine's tests need llasmol[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def _pubchem_files(folder: Path, smolinstruct_val: Path) -> dict[str, str]:
    """PubChem-style bulk files (gzip) of the real name-conversion molecules, names for most of them."""
    rows = [json.loads(line) for line in
            (smolinstruct_val / "name_conversion-s2i.jsonl").read_text(encoding="utf-8").splitlines()[:120]]
    files = {"smiles": folder / "CID-SMILES.gz", "iupac": folder / "CID-IUPAC.gz", "formula": folder / "CID-Mass.gz"}
    with gzip.open(files["smiles"], "wt") as smiles, gzip.open(files["iupac"], "wt") as names, \
            gzip.open(files["formula"], "wt") as formulas:
        for cid, row in enumerate(rows, start=1):
            smiles.write(f"{cid}\t{row['input']}\n")
            if cid % 5:
                names.write(f"{cid}\t{row['output']}\n")
            formulas.write(f"{cid}\t{formula_of_smiles(row['input'])}\t0\t0\n")
    return {kind: str(path) for kind, path in files.items()}


def _small_real_config(shared_data: Path, files: dict[str, str], **options: Any) -> BuildConfig:
    names = ["name_conversion-i2f", "name_conversion-i2s", "name_conversion-s2f", "name_conversion-s2i"]
    sources = [
        {"name": "uspto-val", "reader": "reaction_smiles", "path": str(shared_data / "uspto50k/raw_val.csv"),
         "tasks": ["forward_synthesis", "retrosynthesis"], "limit": 300},
        {"name": "mit-products", "reader": "smiles_lines", "path": str(shared_data / "uspto_mit/tgt-valid.txt"),
         "tasks": ["name_conversion-s2f"], "split": "auto", "limit": 1500},
        {"name": "esol", "reader": "moleculenet", "path": str(shared_data / "moleculenet_esol/delaney-processed.csv"),
         "tasks": ["property_prediction-esol"], "options": {"preset": "esol"}},
        {"name": "pubchem", "reader": "pubchem_bulk", "path": files["smiles"], "tasks": names, "split": "auto",
         "options": {"iupac_path": files["iupac"], "formula_path": files["formula"]}},
    ]
    return build_config_from_dict({"seed": 11, "chunk_size": 64, "opsin_batch_size": 64, "sources": sources,
                                   **options}, base=Path("/"))


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def local_build(shared_data: Path, smolinstruct_val: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[BuildConfig, Path]:
    folder = tmp_path_factory.mktemp("engines")
    config = _small_real_config(shared_data, _pubchem_files(folder, smolinstruct_val))
    build_dataset(config, folder / "local", workers=2)
    return config, folder / "local"


def test_ray_and_local_engines_build_the_same_bytes(ray_cluster, local_build, tmp_path: Path) -> None:
    config, local = local_build
    report = build_dataset(build_config_with_engine(config, "ray", None), tmp_path / "ray", workers=2)
    assert report.total_samples > 1500
    assert set(report.stats) >= {"forward_synthesis", "name_conversion-s2i", "property_prediction-esol"}
    assert _tree_bytes(tmp_path / "ray") == _tree_bytes(local)
    assert ray_cluster.is_initialized()  # the engine joined the running cluster and left it running


def test_ray_engine_names_a_torn_gzip_and_leaves_no_output(ray_cluster, local_build, tmp_path: Path) -> None:
    config, _ = local_build
    torn = tmp_path / "CID-SMILES.gz"
    data = Path(config.sources[3].path).read_bytes()
    torn.write_bytes(data[: len(data) * 2 // 3])
    sources = [config.sources[0], build_config_from_dict({"sources": [{
        "name": "pubchem", "reader": "pubchem_bulk", "path": str(torn), "tasks": ["name_conversion-s2f"]}]},
        base=Path("/")).sources[0]]
    broken = build_config_with_engine(BuildConfig(sources=tuple(sources), seed=11, chunk_size=16), "ray", None)
    with pytest.raises(DataFormatError, match=r"CID-SMILES\.gz:\d+: torn or corrupt gzip") as error:
        build_dataset(broken, tmp_path / "out", workers=2)
    assert error.value.line is not None and error.value.line > 1
    assert not (tmp_path / "out").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging folder left


def _map_workers() -> list[Any]:
    import psutil

    return [process for process in psutil.process_iter(["cmdline"])
            if (process.info["cmdline"] or [""])[0].startswith("ray::MapBatches")]


def test_a_ray_worker_killed_mid_build_never_leaves_a_finished_looking_folder(ray_cluster, local_build,
                                                                             tmp_path: Path) -> None:
    """Ray reruns the killed worker's task: the build finishes with the local engine's bytes, or fails and
    leaves no folder at all."""
    config, local = local_build
    outcome: dict[str, Any] = {}

    def build() -> None:
        try:
            build_dataset(build_config_with_engine(config, "ray", None), tmp_path / "ray", workers=2)
        except Exception as error:  # judged below
            outcome["error"] = error

    thread = threading.Thread(target=build)
    thread.start()
    killed = 0
    deadline = time.monotonic() + 120
    while thread.is_alive() and not killed and time.monotonic() < deadline:
        for process in _map_workers():
            process.send_signal(signal.SIGKILL)
            killed += 1
            break
        time.sleep(0.02)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert killed == 1
    if "error" in outcome:
        assert not (tmp_path / "ray").exists()
    else:
        assert _tree_bytes(tmp_path / "ray") == _tree_bytes(local)


def test_without_ray_the_engine_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayNotInstalledError, match=r"pip install 'llasmol\[ray\]'"):
        RayEngine(2)


def test_engine_from_the_config_and_the_command_line(tmp_path: Path, shared_data: Path) -> None:
    esol = shared_data / "moleculenet_esol/delaney-processed.csv"
    source = {"name": "esol", "reader": "moleculenet", "path": str(esol), "tasks": ["property_prediction-esol"],
              "options": {"preset": "esol"}}
    assert build_config_from_dict({"engine": "ray", "sources": [source]}, base=Path("/")).engine == "ray"
    with pytest.raises(BuildConfigError, match="engine 'spark' is not one of local, ray"):
        build_config_from_dict({"engine": "spark", "sources": [source]}, base=Path("/"))
    config = build_config_from_dict({"sources": [source]}, base=Path("/"))
    assert build_config_with_engine(config, None, "10.0.0.1:6379").ray_address == "10.0.0.1:6379"
    with pytest.raises(BuildConfigError, match="--address names a Ray cluster: it needs --engine ray"):
        build_config_with_engine(config, "local", "10.0.0.1:6379")
    config_file = tmp_path / "build.yaml"
    config_file.write_text(json.dumps({"sources": [source]}), encoding="utf-8")
    result = CliRunner().invoke(app, ["data", "build", str(config_file), "--out", str(tmp_path / "out"),
                                      "--engine", "dask"])
    assert result.exit_code != 0
    assert "engine 'dask' is not one of local, ray" in result.output
    assert not (tmp_path / "out").exists()
