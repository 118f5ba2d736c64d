"""build.py: reproducible, pruned, runnable from the unzipped package alone."""

import hashlib
import json
import platform
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from devtools.lambda_emulator import unpack
from tests.chatstream import read

ROOT = Path(__file__).resolve().parent.parent


def build(output: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--output", str(output), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def local_zip(tmp_path_factory) -> Path:
    """A package for this machine's interpreter, so it can run here."""
    output = tmp_path_factory.mktemp("pkg") / "deploy.zip"
    result = build(output, "--python-version", "local")
    assert result.returncode == 0, result.stderr
    return output


def test_builds_are_byte_identical(local_zip, tmp_path):
    again = tmp_path / "again.zip"
    result = build(again, "--python-version", "local")
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == local_zip.read_bytes()


def manifest(output: Path) -> dict:
    return json.loads(output.with_name(output.name + ".json").read_text())


def glibc_needed(archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """For each native wheel, the oldest glibc any of its manylinux tags accepts."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    needed = {}
    for name in archive.namelist():
        if not name.endswith(".dist-info/WHEEL"):
            continue
        versions = []
        for line in archive.read(name).decode().splitlines():
            platform = line.rsplit("-", 1)[-1] if line.startswith("Tag:") else ""
            if m := re.match(r"manylinux_(\d+)_(\d+)_", platform):
                versions.append((int(m[1]), int(m[2])))
            elif platform.split("_")[0] in legacy:
                versions.append(legacy[platform.split("_")[0]])
        if versions:
            needed[name.split("-")[0]] = min(versions)
    return needed


def test_lambda_target_is_within_budget_and_reports_itself(tmp_path):
    output = tmp_path / "deploy.zip"
    result = build(output)  # the default target: python3.12 on x86_64
    assert result.returncode == 0, result.stderr
    assert manifest(output) == {
        "python_version": "3.12",
        "architecture": "x86_64",
        "sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
        "size": output.stat().st_size,
    }
    assert "sha256 (base64)" in result.stdout and "largest components" in result.stdout
    assert output.stat().st_size <= 5_000_000
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
    assert any(n.startswith("asyncpg/") and "cpython-312-x86_64-linux-gnu" in n for n in names)
    assert not any("cpython-311" in n for n in names)  # never the build machine's wheels
    # Bytecode for Lambda's interpreter: /var/task is read-only, nothing compiles there.
    assert "handler/__pycache__/app.cpython-312.pyc" in names
    assert any(
        n.startswith("aiohttp/__pycache__/") and n.endswith(".cpython-312.pyc") for n in names
    )


def test_python_311_gets_wheels_amazon_linux_2_can_load(tmp_path):
    """Lambda's python3.11 runs on Amazon Linux 2, glibc 2.26: a manylinux_2_34 wheel
    (cryptography publishes one, for one) installs fine and then fails to import there."""
    output = tmp_path / "deploy.zip"
    result = build(output, "--python-version", "3.11")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(output) as archive:
        needed = glibc_needed(archive)
        target = json.loads(archive.read("debugflow-build.json"))
    assert "asyncpg" in needed and "aiohttp" in needed
    assert {wheel: v for wheel, v in needed.items() if v > (2, 26)} == {}
    assert target == {"python_version": "3.11", "architecture": "x86_64"}
    assert manifest(output)["python_version"] == "3.11"


def test_pinecone_build_fits_its_default_budget(tmp_path):
    """docs/architecture.md's `python build.py --with pinecone` works as written."""
    output = tmp_path / "deploy.zip"
    result = build(output, "--with", "pinecone")
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size > 5_000_000  # over the plain budget: the group's is added
    with zipfile.ZipFile(output) as archive:
        assert any(n.startswith("pinecone/") for n in archive.namelist())


def test_zip_records_its_target(local_zip):
    with zipfile.ZipFile(local_zip) as archive:
        inside = json.loads(archive.read("debugflow-build.json"))
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = {"x86_64": "x86_64", "aarch64": "arm64"}[platform.machine()]
    assert inside == {"python_version": python, "architecture": arch}
    assert manifest(local_zip) == {
        **inside,
        "sha256": hashlib.sha256(local_zip.read_bytes()).hexdigest(),
        "size": local_zip.stat().st_size,
    }


def test_zip_contents(local_zip):
    with zipfile.ZipFile(local_zip) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    wrapper = infos["handler/lambda_runtime/exec-wrapper"]
    assert stat.S_IMODE(wrapper.external_attr >> 16) == 0o755
    assert stat.S_IMODE(infos["handler/app.py"].external_attr >> 16) == 0o644
    assert "handler/db/migrations/0001_schema.sql" in infos
    names = list(infos)
    assert names == sorted(names)
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    for pruned in (".pyi", "/tests/", "RECORD"):
        assert not any(pruned in n for n in names), pruned
    # Only the service ships: development tools and tests live outside handler/.
    assert not any(n.startswith(("devtools/", "tests/", "bench/")) for n in names)
    assert not any("emulator" in n for n in names if n.startswith("handler/lambda_runtime/"))
    tag = sys.implementation.cache_tag
    bytecode = [n for n in names if n.endswith(".pyc")]
    assert bytecode and all(
        n.endswith(f".{tag}.pyc") and PurePosixPath(n).parent.name == "__pycache__"
        for n in bytecode
    )
    sources = {n for n in names if n.endswith(".py")}
    for name in bytecode:  # each one next to its source
        path = PurePosixPath(name)
        source = path.parent.parent / path.name.replace(f".{tag}.pyc", ".py")
        assert str(source) in sources, name
    assert any(n.startswith("aiohttp/") for n in names)
    # Tokens are checked without them (handler/auth/rs256.py): neither ships.
    assert not any(n.startswith(("cryptography/", "google/", "cffi")) for n in names)
    # The trust store the runtime points OpenSSL at: one CA per file, OpenSSL's names.
    cas = [n for n in names if n.startswith("ca-certificates/")]
    assert len(cas) > 100
    assert all(re.fullmatch(r"ca-certificates/[0-9a-f]{8}\.\d+", n) for n in cas)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--python-version", "3.8"], "--python-version 3.8 is not supported"),
        (["--python-version", "2.7"], "--python-version 2.7 is not supported"),
        (["--arch", "sparc"], "--arch sparc is not supported: choose x86_64 or arm64"),
    ],
)
def test_wrong_targets_are_refused(tmp_path, args, message):
    result = build(tmp_path / "x.zip", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "x.zip").exists()


def test_size_budget_is_enforced_and_the_previous_zip_stays(tmp_path, local_zip):
    output = tmp_path / "deploy.zip"
    output.write_bytes(local_zip.read_bytes())
    previous_manifest = local_zip.with_name(local_zip.name + ".json").read_text()
    output.with_name("deploy.zip.json").write_text(previous_manifest)

    result = build(output, "--python-version", "local", "--max-size", "1000")
    assert result.returncode == 1
    assert "over the 1,000-byte budget" in result.stderr
    needed = re.search(r"pass --max-size (\d+)", result.stderr)
    assert needed and int(needed[1]) >= local_zip.stat().st_size, result.stderr
    assert output.read_bytes() == local_zip.read_bytes()
    assert output.with_name("deploy.zip.json").read_text() == previous_manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deploy.zip", "deploy.zip.json"]


@pytest.fixture
def unzipped(local_zip, tmp_path) -> tuple[Path, str]:
    """The package unzipped alone, and an interpreter that sees nothing else."""
    task_root = unpack(local_zip, tmp_path / "task")  # with modes, as Lambda unpacks
    clean_python = tmp_path / "python-clean"
    # -S: no site-packages, so only the task root can satisfy an import.
    clean_python.write_text(f'#!/bin/sh\nexec {sys._base_executable} -S "$@"\n')
    clean_python.chmod(0o755)
    return task_root, str(clean_python)


async def test_unzipped_package_serves_health_and_a_streamed_chat(
    start_lambda, unzipped, firebase, huggingface
):
    task_root, python = unzipped
    url = await start_lambda(task_root=task_root, python=python)
    assert (await url.get("/health")).status == 200
    huggingface.delay = 0.2
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    resp = await url.post(
        "/api/chat", json={"sessionId": session["id"], "message": "hi"}, headers=auth
    )
    t = await read(resp)
    assert t.kinds()[-1] == "[DONE]"
    arrivals = [at for at, e in zip(t.times, t.events, strict=True) if "content" in e]
    for i in range(len(huggingface.sent_at) - 1):
        assert arrivals[i] < huggingface.sent_at[i + 1]
