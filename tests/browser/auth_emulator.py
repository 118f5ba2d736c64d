"""The Firebase Auth emulator (npm firebase-tools) and the Firebase JS SDK for the page.

Both come from `make auth-emulator`'s install step (devtools/firebase/package.json
into .tools/firebase, git-ignored), as a front-end developer gets them. esbuild
bundles the SDK into one ES module the page imports. The emulator runs on free
ports of 127.0.0.1 (its hub and logging ports too), with its own HOME, so it
never meets a developer's emulator on 9099 or their Firebase CLI settings. It
needs Node.js and no Java (Java is for the Firestore and Database emulators).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.browser.processes import ROOT, Backend, base_environment, free_port, spawn, until

FIREBASE_DIR = ROOT / ".tools" / "firebase"
INSTALLED = FIREBASE_DIR / ".installed"
SDK_ENTRY = Path(__file__).parent / "firebase_sdk.mjs"
BUNDLE_DIR = FIREBASE_DIR / "bundle"
INSTALL_TIMEOUT = 900  # the first npm install, on an empty npm cache


def install() -> None:
    """`make`'s install of firebase-tools, the SDK and esbuild (nothing when up to date)."""
    target = str(INSTALLED.relative_to(ROOT))
    result = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"make {target} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def bundle_sdk() -> Path:
    """The Firebase SDK as one ES module, BUNDLE_DIR/firebase.js."""
    install()
    out = BUNDLE_DIR / "firebase.js"
    esbuild = FIREBASE_DIR / "node_modules" / ".bin" / "esbuild"
    args = [str(esbuild), str(SDK_ENTRY), "--bundle", "--format=esm", f"--outfile={out}"]
    env = {**os.environ, "NODE_PATH": str(FIREBASE_DIR / "node_modules")}
    subprocess.run([*args, "--log-level=warning"], env=env, check=True, timeout=120)
    return out


async def _ready(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return (await resp.json()).get("authEmulator", {}).get("ready") is True
    except (aiohttp.ClientError, ValueError):
        return False


async def start(workdir: Path, project: str) -> Backend:
    """`firebase emulators:start --only auth` for `project`; its url is http://127.0.0.1:PORT."""
    install()
    port = free_port()
    config = workdir / "firebase.json"
    emulators = {
        "auth": {"host": "127.0.0.1", "port": port},
        "hub": {"host": "127.0.0.1", "port": free_port()},
        "logging": {"host": "127.0.0.1", "port": free_port()},
        "ui": {"enabled": False},
        "singleProjectMode": True,
    }
    config.write_text(json.dumps({"emulators": emulators}))
    home = workdir / "firebase-home"
    home.mkdir(exist_ok=True)
    firebase = FIREBASE_DIR / "node_modules" / ".bin" / "firebase"
    args = [str(firebase), "emulators:start", "--only", "auth", "--project", project]
    # CI: firebase-tools then asks firebase-public.firebaseio.com for no message of the day.
    env = {**base_environment(), "HOME": str(home), "CI": "true"}
    log = workdir / "auth-emulator.log"
    process = await spawn([*args, "--config", str(config)], env, workdir, log)
    emulator = Backend(f"http://127.0.0.1:{port}", process, log)
    await until(lambda: _ready(emulator.url), emulator, "the Firebase Auth emulator")
    return emulator
