"""The ray engine (a Ray cluster started apart) builds the local engine's bytes; it fails as the local one does."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llasmol.chem import formula_of_smiles
from llasmol.cli import app
from llasmol.data.build import build_dataset
from llasmol.data.build.config import BuildConfigError, build_config_from_dict, build_config_with_engine
from llasmol.data.build.engines import RayEngine, RayNotInstalledError

RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}  # a cluster on this machine only, for the test


@pytest.fixture(scope="module")
def ray_address() -> Any:
    """A Ray cluster of 2 CPUs started apart (``ray start --head``): Ray never runs inside the test process."""
    pytest.importorskip("ray", reason="the ray engine's tests need llasmol[ray]")
    ray_cli = Path(sys.executable).with_name("ray")
    port = "6391"
    subprocess.run([str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false"],
                   check=True, capture_output=True, env=RAY_ENV)
    yield f"127.0.0.1:{port}"
    subprocess.run([str(ray_cli), "stop", "--force"], capture_output=True, env=RAY_ENV)


def _cli_build(settings: dict[str, Any], out: Path, address: str, folder: Path) -> subprocess.Popen:
    """``llasmol data build --engine ray --address`` of a config file holding ``settings``, into ``out``, started."""
    config_file = folder / "build.yaml"
    config_file.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    return subprocess.Popen([str(Path(sys.executable).with_name("llasmol")), "data", "build", str(config_file),
                             "--out", str(out), "--engine", "ray", "--address", address, "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=RAY_ENV)


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


def _small_real_settings(shared_data: Path, files: dict[str, str]) -> dict[str, Any]:
    """A build config's settings (as its YAML file holds them) over small slices of real sources."""
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
    return {"seed": 11, "chunk_size": 64, "opsin_batch_size": 64, "sources": sources}


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def local_build(shared_data: Path, smolinstruct_val: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("engines")
    settings = _small_real_settings(shared_data, _pubchem_files(folder, smolinstruct_val))
    build_dataset(build_config_from_dict(settings, base=Path("/")), folder / "local", workers=2)
    return settings, folder / "local"


def test_ray_and_local_engines_build_the_same_bytes(ray_address, local_build, tmp_path: Path) -> None:
    settings, local = local_build
    build = _cli_build(settings, tmp_path / "ray", ray_address, tmp_path)
    output, _ = build.communicate(timeout=600)
    assert build.returncode == 0, output
    assert set(_tree_bytes(tmp_path / "ray")) >= {"raw/train/forward_synthesis.jsonl", "qc_report.json"}
    assert _tree_bytes(tmp_path / "ray") == _tree_bytes(local)


def test_ray_engine_names_a_torn_gzip_and_leaves_no_output(ray_address, local_build, tmp_path: Path) -> None:
    settings, _ = local_build
    torn = tmp_path / "CID-SMILES.gz"
    data = Path(settings["sources"][3]["path"]).read_bytes()
    torn.write_bytes(data[: len(data) * 2 // 3])
    pubchem = {"name": "pubchem", "reader": "pubchem_bulk", "path": str(torn), "tasks": ["name_conversion-s2f"]}
    broken = {"seed": 11, "chunk_size": 16, "sources": [settings["sources"][0], pubchem]}
    build = _cli_build(broken, tmp_path / "out", ray_address, tmp_path)
    output, _ = build.communicate(timeout=600)
    assert build.returncode != 0
    named = re.search(r"CID-SMILES\.gz:(\d+): torn or corrupt gzip", " ".join(output.split()))
    assert named is not None and int(named.group(1)) > 1, output
    assert not (tmp_path / "out").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging folder left


def _map_workers() -> list[Any]:
    import psutil

    return [process for process in psutil.process_iter(["cmdline"])
            if (process.info["cmdline"] or [""])[0].startswith("ray::MapBatches")]


def test_a_ray_worker_killed_mid_build_never_leaves_a_finished_looking_folder(ray_address, local_build,
                                                                             tmp_path: Path) -> None:
    """Ray reruns the killed worker's task: the build finishes with the local engine's bytes, or fails and
    leaves no folder at all."""
    settings, local = local_build
    build = _cli_build(settings, tmp_path / "ray", ray_address, tmp_path)
    killed = 0
    deadline = time.monotonic() + 300
    while build.poll() is None and not killed and time.monotonic() < deadline:
        for process in _map_workers():
            process.send_signal(signal.SIGKILL)
            killed += 1
            break
        time.sleep(0.02)
    output, _ = build.communicate(timeout=600)
    assert killed == 1
    if build.returncode != 0:
        assert not (tmp_path / "ray").exists(), output
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
