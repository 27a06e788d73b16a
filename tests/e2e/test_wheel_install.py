"""The README's install on a fresh machine: build the wheel from this checkout, install it with the
openai SDK into a new venv, and trace one chat call there under `opentelemetry-instrument`.

chatspan is not on PyPI, so this is the way a user gets it. Everything runs from the new venv and
outside the checkout (the devserver too, from the wheel), so nothing of this repository's source
tree or dev venv can stand in for what the wheel holds. One venv per test session; the openai
version is the running interpreter's, so each venv of the matrix checks its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.phoenix import REPO_ROOT

pytestmark = pytest.mark.slow

INSTALL_TIMEOUT = 600.0
"""Building the wheel and installing it with its dependencies from the index: a minute or two."""
RUN_TIMEOUT = 120.0
MODEL = "gpt-4o-mini"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/v1)")
CHAT_CALL = f"""
import chatspan
import openai

completion = openai.OpenAI().chat.completions.create(
    model={MODEL!r}, messages=[{{"role": "user", "content": "Say hi"}}]
)
print("RESPONSE", completion.id)
print("CHATSPAN", chatspan.__file__)
"""


@dataclass(frozen=True)
class Installed:
    """A fresh venv holding the wheel and openai, and a clean environment to run it in."""

    venv: Path
    wheel: Path
    workdir: Path
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _clean_env() -> dict[str, str]:
    """No OpenAI, OpenTelemetry or Python path settings of the caller, nor its venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "OPENAI_", "CHATSPAN_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _run(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip wheel --no-deps` of the checkout, then `pip install <wheel> openai==<this one>` in a new venv."""
    root = tmp_path_factory.mktemp("wheel-install")
    env = _clean_env()
    dist = root / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(REPO_ROOT)],
        env=env,
        cwd=root,
        timeout=INSTALL_TIMEOUT,
    )
    (wheel,) = dist.glob("chatspan-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=root, timeout=INSTALL_TIMEOUT)
    _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            str(wheel),
            f"openai=={openai.__version__}",
        ],
        env=env,
        cwd=root,
        timeout=INSTALL_TIMEOUT,
    )
    workdir = root / "app"
    workdir.mkdir()
    return Installed(venv, wheel, workdir, env)


@pytest.fixture
def devserver_url(installed: Installed) -> Iterator[str]:
    """The wheel's own `python -m chatspan.devserver --port 0`, run from the new venv."""
    process = subprocess.Popen(
        [installed.bin("python"), "-m", "chatspan.devserver", "--port", "0"],
        env={**installed.env, "PYTHONUNBUFFERED": "1"},
        cwd=installed.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        for line in process.stdout:  # ends when the server exits
            seen.append(line)
            found = _LISTENING.search(line)
            if found:
                # Keep reading what it logs, so that a full pipe never blocks it.
                threading.Thread(target=process.stdout.read, daemon=True).start()
                yield found.group(1)
                break
        else:
            pytest.fail(f"the wheel's devserver did not start:\n{''.join(seen)}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_wheel_installs_beside_openai_and_traces_a_call(installed: Installed, devserver_url: str) -> None:
    stdout = _run(
        [
            installed.bin("opentelemetry-instrument"),
            "--traces_exporter",
            "console",
            "--metrics_exporter",
            "none",
            "--logs_exporter",
            "none",
            installed.bin("python"),
            "-c",
            CHAT_CALL,
        ],
        env={**installed.env, "OPENAI_BASE_URL": devserver_url, "OPENAI_API_KEY": "sk-wheel-test"},
        cwd=installed.workdir,
        timeout=RUN_TIMEOUT,
    )
    (response_id,) = re.findall(r"^RESPONSE (\S+)$", stdout, re.MULTILINE)
    (module,) = re.findall(r"^CHATSPAN (\S+)$", stdout, re.MULTILINE)
    assert Path(module).is_relative_to(installed.venv), f"chatspan came from {module}, not the wheel"
    spans = _console_spans(stdout)
    (span,) = spans
    assert span["name"] == f"chat {MODEL}"
    assert span["attributes"]["gen_ai.response.id"] == response_id
    assert span["attributes"]["chatspan.source"] == "live"
    assert installed.wheel.name.startswith("chatspan-")


def _console_spans(text: str) -> list[dict[str, Any]]:
    """The JSON objects ConsoleSpanExporter printed that are spans."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = text.find("{")
    while index != -1:
        value, end = decoder.raw_decode(text, index)
        if isinstance(value, dict) and "context" in value and "name" in value:
            spans.append(value)
        index = text.find("{", end)
    return spans
