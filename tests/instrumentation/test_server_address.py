"""server.address/port follow the URL the SDK really sends to, however the client keeps it.

chatspan reads the URL a client stores (`_configured_base_url` in openai 3.6x, `_base_url` before)
directly where the client's `base_url` property only returns it (openai 3's property imports a
module on every read); clients whose property computes the URL (the module-level client reads
`openai.base_url`; a subclass may override it) go through it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import openai
import pytest

from chatspan.devserver import DevServer
from chatspan.instrumentation.wrappers import _plain_base_url, _server
from tests.instrumentation.conftest import API_KEY
from tests.support.recording import Recording, attributes
from tests.support.transport import http

MESSAGES = [{"role": "user", "content": "hi"}]


def _addresses(recording: Recording) -> list[tuple[object, object]]:
    return [(attributes(s)["server.address"], attributes(s)["server.port"]) for s in recording.spans()]


def test_the_sdk_clients_read_their_url_directly() -> None:
    assert _plain_base_url(openai.OpenAI)
    assert _plain_base_url(openai.AsyncOpenAI)
    assert _plain_base_url(openai.AzureOpenAI)


def test_an_sdk_clients_url_is_read_without_calling_a_property(server: DevServer) -> None:
    called: list[str] = []

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(openai.__path__[0]):
            called.append(frame.f_code.co_qualname)

    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY) as client:
        sys.setprofile(profile)
        try:
            found = _server(client)
        finally:
            sys.setprofile(None)
        assert found["server.address"] == "127.0.0.1"
    assert called == []


def test_a_client_moved_to_another_url_is_seen_at_its_new_address(
    server: DevServer, recording: Recording
) -> None:
    port = int(server.base_url.split(":")[2].split("/")[0])
    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        client.base_url = server.base_url.replace("127.0.0.1", "localhost")
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert _addresses(recording) == [("127.0.0.1", port), ("localhost", port)]


class _Overriding(openai.OpenAI):
    """A client whose `base_url` says something else than `_base_url` (as a proxying subclass may)."""

    @property  # type: ignore[override]
    def base_url(self) -> object:
        return http.URL("https://gateway.example:8443/v1/")

    @base_url.setter
    def base_url(self, url: object) -> None:
        pass


def test_a_subclass_overriding_base_url_is_read_through_it(server: DevServer) -> None:
    assert not _plain_base_url(_Overriding)
    with _Overriding(base_url=server.base_url, api_key=API_KEY) as client:
        assert _server(client) == {"server.address": "gateway.example", "server.port": 8443}


@pytest.fixture
def module_client(server: DevServer) -> Iterator[None]:
    saved = openai.api_key, openai.base_url, openai.max_retries
    # The module-level client does not add the trailing slash its URL joins need.
    openai.api_key, openai.base_url, openai.max_retries = API_KEY, server.base_url.rstrip("/") + "/", 0
    try:
        yield
    finally:
        openai.api_key, openai.base_url, openai.max_retries = saved


def test_the_module_level_client_follows_openai_base_url(
    server: DevServer, recording: Recording, module_client: None
) -> None:
    port = int(server.base_url.split(":")[2].split("/")[0])
    openai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    openai.base_url = server.base_url.replace("127.0.0.1", "localhost").rstrip("/") + "/"
    openai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert _addresses(recording) == [("127.0.0.1", port), ("localhost", port)]
