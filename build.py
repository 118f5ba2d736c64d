"""Build the Lambda deployment zip: our code, the exec wrapper, and the wheels it needs.

    python build.py [--python-version 3.12|3.11|3.13|local] [--arch x86_64|arm64]
                    [--output dist/deploy.zip] [--with pinecone] [--max-size BYTES]

Dependencies are installed with pip for the target's Python version and
manylinux platform (binary wheels only, never the build machine's own), pruned,
and zipped reproducibly: the same inputs give a byte-identical zip. `local`
targets the running interpreter and this machine, for running the zip here.

The target is recorded in the zip (TARGET_FILE) and, with the zip's sha256 and
size, in a manifest beside it (`<output>.json`) that deployment checks against
the function's runtime and architecture. A failed build leaves the previous
zip and manifest as they were. Only the standard library, pip and our DER reader
(handler/der.py) are used.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from base64 import b64decode, b64encode
from collections import defaultdict
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from handler import der as der_reader

ROOT = Path(__file__).resolve().parent
PACKAGE = "handler"
WRAPPER = "handler/lambda_runtime/exec-wrapper"
LAMBDA_PYTHONS = ("3.11", "3.12", "3.13")  # Lambda's runtimes our code supports (3.11+)
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
# glibc minor version of each runtime's OS: python3.11 runs on Amazon Linux 2 (glibc 2.26),
# 3.12 and 3.13 on Amazon Linux 2023 (glibc 2.34);
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
LAMBDA_GLIBC = {"3.11": 26, "3.12": 34, "3.13": 34}
TARGET_FILE = "debugflow-build.json"  # at the zip's root, beside the handler package
DEFAULT_MAX_SIZE = 5_000_000  # our budget, compressed (3.5 MB in 2026-12)
# What each optional group is known to add, so `--with X` works without --max-size.
EXTRA_BUDGET = {"pinecone": 5_000_000}
LAMBDA_MAX_ZIP = 50 * 1024 * 1024  # direct upload limit
LAMBDA_MAX_UNZIPPED = 250 * 1024 * 1024
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip's epoch: no build time leaks into the archive

# Everything pruned, in one place. Paths are matched against each file's path in the zip.
PRUNE = {
    # (bytecode for the target interpreter is compiled afterwards: see compile_bytecode)
    "bytecode compiled by pip for the build machine": ["*/__pycache__/*", "*.pyc", "*.pyo"],
    "tests shipped inside packages": ["*/tests/*", "*/test/*", "*/testing/*"],
    "type stubs and markers": ["*.pyi", "*/py.typed"],
    "C and Cython sources next to their built modules": ["*.c", "*.h", "*.pyx", "*.pxd"],
    "docs": ["*.md", "*.rst", "*/docs/*"],
    "install records the runtime never reads": [
        "*.dist-info/RECORD",
        "*.dist-info/INSTALLER",
        "*.dist-info/REQUESTED",
        "*.dist-info/direct_url.json",
        "bin/*",
    ],
    "the pinecone SDK's gRPC transport (we use its asyncio REST client)": [
        "pinecone/_grpc*.so",
        "pinecone/grpc/*",
    ],
}
# Provided by the Lambda runtime: boto3 and botocore. We depend on neither, so
# nothing is left out for that reason; secrets are read over HTTP (see README).


# OpenSSL's trust store as a hashed directory (SSL_CERT_DIR), made from certifi's CA set at
# build time: certificates are read one at a time when a chain needs them, instead of a
# whole bundle parsed by every SSL context (aiohttp makes two at import). The runtime
# points OpenSSL at it before importing aiohttp (handler/lambda_runtime/__main__.py).
CA_DIR = "ca-certificates"
PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


class BuildError(Exception):
    """The build cannot go on; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "deploy.zip")
    parser.add_argument(
        "--with",
        dest="extras",
        action="append",
        default=[],
        choices=("pinecone",),
        help="optional dependency groups to include",
    )
    parser.add_argument(
        "--max-size",
        type=int,
        default=None,
        help=f"fail when the zip is larger (bytes, compressed); default {DEFAULT_MAX_SIZE:,} "
        f"plus, per --with group, {', '.join(f'{k} {v:,}' for k, v in EXTRA_BUDGET.items())}",
    )
    args = parser.parse_args(argv)
    args.extras = sorted(set(args.extras))
    if args.max_size is None:
        args.max_size = DEFAULT_MAX_SIZE + sum(EXTRA_BUDGET[e] for e in args.extras)
    if args.python_version != "local" and args.python_version not in LAMBDA_PYTHONS:
        parser.error(
            f"--python-version {args.python_version} is not supported: choose one of "
            f"{', '.join(LAMBDA_PYTHONS)} (Lambda runtimes with Python 3.11+) or local"
        )
    if args.arch not in ARCHES:
        parser.error(f"--arch {args.arch} is not supported: choose x86_64 or arm64")
    if args.python_version == "local" and ARCHES[args.arch] != platform.machine():
        parser.error(f"--python-version local builds for this machine ({platform.machine()})")
    return args


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return wanted


PIP_INSTALL = [
    sys.executable,
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
    "--no-compile",
    "--only-binary=:all:",
]


def pip_install(target: Path, wanted: list[str], python_version: str, arch: str) -> None:
    command = [*PIP_INSTALL, "--target", str(target)]
    if python_version != "local":
        abi = "cp" + python_version.replace(".", "")
        for tag in manylinux_platforms(python_version, arch):
            command += ["--platform", tag]
        command += [
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--abi",
            abi,
            "--abi",
            "abi3",
            "--abi",
            "none",
        ]
    result = subprocess.run([*command, *wanted], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip could not install the dependencies:\n{result.stderr.strip()}")


def manylinux_platforms(python_version: str, arch: str) -> list[str]:
    """Every manylinux platform the runtime's glibc can load (pip wants each one named):
    a wheel built for a newer glibc would install here and fail to import on Lambda."""
    machine = ARCHES[arch]
    newest = LAMBDA_GLIBC[python_version]
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)]
    return [*platforms, f"manylinux2014_{machine}"]


def target(python_version: str, arch: str) -> dict[str, str]:
    """What the zip runs on; `local` is recorded as the interpreter and machine it is."""
    if python_version == "local":
        python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return {"python_version": python_version, "architecture": arch}


def pruned(path: str) -> str | None:
    """The reason `path` is left out, or None to keep it."""
    for reason, patterns in PRUNE.items():
        if any(fnmatch(path, p) or fnmatch("/" + path, p) for p in patterns):
            return reason
    return None


def strip_tool(arch: str) -> str | None:
    """llvm-strip reads every architecture; GNU strip only the machine's own."""
    if tool := shutil.which("llvm-strip"):
        return tool
    if ARCHES[arch] == platform.machine():
        return shutil.which("strip")
    return None


def strip_shared_objects(files: dict[str, Path], arch: str) -> int:
    """Strip unneeded symbols from native modules (safe for shared objects); count them."""
    strip = strip_tool(arch)
    if strip is None:
        print("  note: no strip tool for this architecture; shared objects left as they are")
        return 0
    stripped = 0
    for name, path in files.items():
        if name.endswith(".so") or ".so." in name:
            result = subprocess.run([strip, "--strip-unneeded", str(path)], capture_output=True)
            stripped += result.returncode == 0
    return stripped


def collect(staging: Path) -> tuple[dict[str, Path], dict[str, int]]:
    files: dict[str, Path] = {}
    left_out: dict[str, int] = defaultdict(int)
    for path in sorted(staging.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(staging).as_posix()
        reason = pruned(name)
        if reason:
            left_out[reason] += 1
        else:
            files[name] = path
    return files, dict(left_out)


# Run by the target interpreter: one .pyc per module, deterministic (hash-based,
# never re-checked: the zip is immutable) and naming its Lambda path in tracebacks.
COMPILE = """
import py_compile, sys
from importlib.util import cache_from_source
staging, names = sys.argv[1], sys.argv[2:]
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for name in names:
    source = f"{staging}/{name}"
    py_compile.compile(source, cfile=cache_from_source(source), dfile=f"/var/task/{name}",
                       doraise=True, invalidation_mode=mode)
    print(cache_from_source(name))
"""


def target_interpreter(python_version: str) -> str | None:
    """A working interpreter of the target version: on PATH, or one pyenv installed."""
    if python_version == "local":
        return sys.executable
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{python_version}")]
    candidates += sorted(
        glob.glob(f"{pyenv}/versions/{python_version}.*/bin/python{python_version}")
    )
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == python_version:
            return candidate
    return None


def compile_bytecode(staging: Path, files: dict[str, Path], python_version: str) -> int:
    """Add bytecode for the target Python: /var/task is read-only, so without it
    every cold start compiles every module it imports."""
    python = target_interpreter(python_version)
    if python is None:
        print(f"  note: no python{python_version} here, so no bytecode: cold starts will compile")
        return 0
    sources = sorted(name for name in files if name.endswith(".py"))
    result = subprocess.run(
        [python, "-c", COMPILE, str(staging), *sources], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BuildError(f"compiling bytecode failed:\n{result.stderr.strip()[-2000:]}")
    for name in result.stdout.split():
        files[name] = staging / name
    return len(sources)


# ASN.1 string types OpenSSL canonicalises (ASN1_MASK_CANON), and how each decodes.
_CANON_STRINGS = {
    0x0C: "utf-8",  # UTF8String
    0x13: "latin-1",  # PrintableString
    0x14: "latin-1",  # T61String (OpenSSL reads it as Latin-1)
    0x16: "latin-1",  # IA5String
    0x1A: "latin-1",  # VisibleString
    0x1C: "utf-32-be",  # UniversalString
    0x1E: "utf-16-be",  # BMPString
}
_SPACE = b" \t\n\v\f\r"


def _canonical_value(tag: int, value: bytes) -> bytes:
    """OpenSSL's asn1_string_canon: UTF-8, outer spaces trimmed, inner runs of spaces
    made one, ASCII lowercased, as a UTF8String."""
    if tag not in _CANON_STRINGS:
        return der_reader.encoded(tag, value)
    text = value.decode(_CANON_STRINGS[tag]).encode("utf-8").strip(_SPACE)
    out = bytearray()
    for byte in text:
        if byte in _SPACE:
            if not out.endswith(b" "):
                out.append(0x20)
        else:
            out.append(byte + 32 if 0x41 <= byte <= 0x5A else byte)
    return der_reader.encoded(0x0C, bytes(out))


def subject_hash(der: bytes) -> str:
    """`openssl x509 -subject_hash` of a DER certificate: the first four bytes of the
    SHA-1 of the subject's canonical encoding, little-endian (OpenSSL's X509_NAME_hash_ex),
    which is how a hashed directory names a CA's file."""
    _, _, start, end = der_reader.certificate_fields(der)[4]  # the subject
    canonical = b""
    for _, _, set_start, set_end in der_reader.children(der, start, end):  # each RDN, a SET
        values = []
        for _, _, ava_start, ava_end in der_reader.children(der, set_start, set_end):
            (_, oid_at, _, oid_end), (tag, _, value_start, value_end) = der_reader.children(
                der, ava_start, ava_end
            )
            value = _canonical_value(tag, der[value_start:value_end])
            values.append(der_reader.encoded(0x30, der[oid_at:oid_end] + value))
        canonical += der_reader.encoded(0x31, b"".join(sorted(values)))
    digest = hashlib.sha1(canonical).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def hashed_ca_directory(bundle: bytes, directory: Path) -> int:
    """One PEM file per CA, named `<subject hash>.<n>` as `openssl rehash` names them."""
    directory.mkdir(parents=True)
    seen: set[bytes] = set()
    count = 0
    for match in PEM_CERT.finditer(bundle):
        pem = match.group(0)
        der = b64decode(b"".join(pem.splitlines()[1:-1]))
        if der in seen:
            continue
        seen.add(der)
        name = subject_hash(der)
        n = 0
        while (directory / f"{name}.{n}").exists():
            n += 1
        (directory / f"{name}.{n}").write_bytes(pem + b"\n")
        count += 1
    if count == 0:
        raise BuildError("the CA bundle holds no certificate")
    return count


def add_ca_directory(staging: Path) -> int:
    """certifi's current CA set (Mozilla's), installed for this build only, as CA_DIR."""
    with tempfile.TemporaryDirectory(prefix="debugflow-certifi-") as tmp:
        result = subprocess.run(
            [
                *PIP_INSTALL,
                "--no-deps",
                "--target",
                tmp,
                "certifi",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BuildError(f"pip could not install certifi:\n{result.stderr.strip()}")
        bundle = (Path(tmp) / "certifi" / "cacert.pem").read_bytes()
    return hashed_ca_directory(bundle, staging / CA_DIR)


def write_zip(files: dict[str, Path], output: Path) -> None:
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            path = files[name]
            executable = name == WRAPPER or bool(path.stat().st_mode & stat.S_IXUSR)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # Unix, so the permission bits below are honoured
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def report(
    built: Path, output: Path, files: dict[str, Path], left_out: dict[str, int]
) -> tuple[int, int]:
    data = built.read_bytes()
    compressed = len(data)
    sizes: dict[str, int] = defaultdict(int)
    uncompressed = 0
    with zipfile.ZipFile(built) as archive:
        for info in archive.infolist():
            uncompressed += info.file_size
            top = PurePosixPath(info.filename).parts[0]
            component = top.split("-")[0] if top.endswith(".dist-info") else top
            sizes[component] += info.file_size
    digest = hashlib.sha256(data)
    print(f"package for {output}")
    print(f"  sha256          {digest.hexdigest()}")
    print(
        f"  sha256 (base64) {b64encode(digest.digest()).decode()}  (Terraform's source_code_hash)"
    )
    print(f"  compressed      {compressed:,} bytes")
    print(f"  uncompressed    {uncompressed:,} bytes in {len(files)} files")
    print("  largest components (uncompressed):")
    for component, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        print(f"    {size:>12,}  {component}")
    for reason, count in sorted(left_out.items()):
        print(f"  pruned {count:>5} files: {reason}")
    return compressed, uncompressed


def step(what: str) -> None:
    """Slow steps say what they are doing, as they start."""
    print(f"- {what}", flush=True)


def build(args: argparse.Namespace) -> Path:
    output = args.output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    built = output.with_name(output.name + ".partial")  # renamed over output once it passes
    recorded = target(args.python_version, args.arch)
    try:
        with tempfile.TemporaryDirectory(prefix="debugflow-build-") as tmp:
            staging = Path(tmp) / "package"
            step(
                f"installing dependencies for python{recorded['python_version']} "
                f"{recorded['architecture']} (pip, binary wheels)"
            )
            pip_install(staging, requirements(args.extras), args.python_version, args.arch)
            step("adding the service")
            shutil.copytree(
                ROOT / PACKAGE,
                staging / PACKAGE,
                dirs_exist_ok=False,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
            (staging / TARGET_FILE).write_text(json.dumps(recorded, sort_keys=True) + "\n")
            step("adding the CA certificates as a hashed directory (certifi)")
            add_ca_directory(staging)
            files, left_out = collect(staging)
            if WRAPPER not in files:
                raise BuildError(f"{WRAPPER} is missing from the package")
            step("stripping shared objects")
            strip_shared_objects(files, args.arch)
            step("compiling bytecode for the target interpreter")
            compile_bytecode(staging, files, args.python_version)
            step("writing the zip")
            write_zip(files, built)
            compressed, uncompressed = report(built, output, files, left_out)
        check_size(compressed, uncompressed, args.max_size)
        publish(built, output, recorded)
    finally:
        built.unlink(missing_ok=True)
    return output


def check_size(compressed: int, uncompressed: int, max_size: int) -> None:
    if compressed > LAMBDA_MAX_ZIP:
        raise BuildError(
            f"the zip is {compressed:,} bytes, over Lambda's {LAMBDA_MAX_ZIP:,}-byte limit for "
            "a direct upload: leave out a --with group"
        )
    if compressed > max_size:
        needed = -(-compressed // 1_000_000) * 1_000_000  # the next whole megabyte
        raise BuildError(
            f"the zip is {compressed:,} bytes, over the {max_size:,}-byte budget; if the growth "
            f"is expected, pass --max-size {needed} (Lambda takes up to {LAMBDA_MAX_ZIP:,})"
        )
    if uncompressed > LAMBDA_MAX_UNZIPPED:
        raise BuildError(f"unzipped it is {uncompressed:,} bytes, over Lambda's 250 MB")


def publish(built: Path, output: Path, recorded: dict[str, str]) -> None:
    """Put the zip and its manifest in place, each by an atomic rename."""
    data = built.read_bytes()
    manifest = {**recorded, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    manifest_path = output.with_name(output.name + ".json")
    pending = manifest_path.with_name(manifest_path.name + ".partial")
    pending.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    built.replace(output)
    pending.replace(manifest_path)
    print(f"built {output} and its manifest {manifest_path.name}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("PIP_NO_INPUT", "1")
    try:
        build(args)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
