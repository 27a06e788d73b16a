"""Which endpoint a request is for: OpenAI's `/v1/...` paths, Azure OpenAI's, and the control path.

Azure OpenAI serves the same API under `/openai/deployments/{deployment}/...` (requests that name a
model: `openai.AzureOpenAI` moves the model into the path for chat completions) and `/openai/...`
(the others, such as the stored-completion list and every Responses API call: the SDK keeps
`/responses` off its deployment list), always with an `api-version` query parameter. Azure's
newer v1 API, `/openai/v1/...` (an `openai.OpenAI` client with `base_url=.../openai/v1`), takes
no `api-version`. A deployment path answers as the `/v1` path does, with the deployment as the model.

The Responses API: `POST /v1/responses` (`responses`), `GET /v1/responses/{id}`
(`responses.retrieve`), `DELETE /v1/responses/{id}` (`responses.delete`),
`GET /v1/responses/{id}/input_items` (`responses.input_items`) and
`POST /v1/responses/{id}/cancel` (`responses.cancel`).

The Files API: `POST`/`GET /v1/files` (`files.create`, `files.list`), `GET`/`DELETE /v1/files/{id}`
(`files.retrieve`, `files.delete`), `GET /v1/files/{id}/content` (`files.content`). The Batch API:
`POST`/`GET /v1/batches` (`batches.create`, `batches.list`), `GET /v1/batches/{id}`
(`batches.retrieve`), `POST /v1/batches/{id}/cancel` (`batches.cancel`). `openai.AzureOpenAI`
keeps both off its deployment paths, so Azure serves them at `/openai/files...` and `/openai/batches...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

FAULTS_PATH = "/_chatspan/faults"
_COLLECTION = ("chat", "completions")
_RESPONSES = "responses"
_FILES = "files"
_BATCHES = "batches"


@dataclass(frozen=True)
class Route:
    """An endpoint: `name` is a fault target (`chat`, `list`, `retrieve`, `update`, `delete`,
    `messages`, `responses`, `responses.retrieve`, ...) or `faults` for the control path."""

    name: str
    completion_id: str | None = None
    """The id in the path: a chat completion's, or a response's for the `responses.*` endpoints."""
    azure: bool = False
    deployment: str | None = None
    """The Azure deployment named in the path, which stands for the model."""
    needs_api_version: bool = False
    """Azure's classic paths require `?api-version=`; its v1 paths (`/openai/v1/...`) do not."""


def find_route(method: str, path: str) -> Route | None:
    """The endpoint of `method path` (path without its query), or None when nothing is served there."""
    if path == FAULTS_PATH:
        return Route("faults") if method in ("GET", "POST") else None
    parts = [unquote(part) for part in path.split("/")]
    if parts[:2] == ["", "v1"]:
        rest, azure, deployment = parts[2:], False, None
    elif parts[:3] == ["", "openai", "deployments"] and len(parts) > 3 and parts[3]:
        rest, azure, deployment = parts[4:], True, parts[3]
    elif parts[:3] == ["", "openai", "v1"]:
        rest, azure, deployment = parts[3:], True, None
    elif parts[:2] == ["", "openai"]:
        rest, azure, deployment = parts[2:], True, None
    else:
        return None
    needs_api_version = azure and parts[:3] != ["", "openai", "v1"]
    if rest[:1] == [_RESPONSES]:
        name = _responses_endpoint(method, rest)
        response_id = rest[1] if len(rest) > 1 else None
        if name is None:
            return None
        return Route(name, response_id, azure, deployment, needs_api_version)
    if rest[:1] in ([_FILES], [_BATCHES]):
        name = _files_endpoint(method, rest) if rest[0] == _FILES else _batches_endpoint(method, rest)
        if name is None or deployment is not None:
            return None
        return Route(name, rest[1] if len(rest) > 1 else None, azure, None, needs_api_version)
    name = _endpoint(method, rest)
    if name is None:
        return None
    completion_id = rest[2] if len(rest) > 2 else None
    return Route(name, completion_id, azure, deployment, needs_api_version)


def _responses_endpoint(method: str, rest: list[str]) -> str | None:
    if len(rest) == 1:
        return "responses" if method == "POST" else None
    if not rest[1]:
        return None
    if len(rest) == 2:
        return {"GET": "responses.retrieve", "DELETE": "responses.delete"}.get(method)
    if len(rest) == 3 and rest[2] == "input_items" and method == "GET":
        return "responses.input_items"
    if len(rest) == 3 and rest[2] == "cancel" and method == "POST":
        return "responses.cancel"
    return None


def _files_endpoint(method: str, rest: list[str]) -> str | None:
    if len(rest) == 1:
        return {"POST": "files.create", "GET": "files.list"}.get(method)
    if not rest[1]:
        return None
    if len(rest) == 2:
        return {"GET": "files.retrieve", "DELETE": "files.delete"}.get(method)
    if len(rest) == 3 and rest[2] == "content" and method == "GET":
        return "files.content"
    return None


def _batches_endpoint(method: str, rest: list[str]) -> str | None:
    if len(rest) == 1:
        return {"POST": "batches.create", "GET": "batches.list"}.get(method)
    if not rest[1]:
        return None
    if len(rest) == 2:
        return "batches.retrieve" if method == "GET" else None
    if len(rest) == 3 and rest[2] == "cancel" and method == "POST":
        return "batches.cancel"
    return None


def _endpoint(method: str, rest: list[str]) -> str | None:
    if tuple(rest[:2]) != _COLLECTION:
        return None
    if len(rest) == 2:
        return {"POST": "chat", "GET": "list"}.get(method)
    if not rest[2]:
        return None
    if len(rest) == 3:
        return {"GET": "retrieve", "POST": "update", "DELETE": "delete"}.get(method)
    if len(rest) == 4 and rest[3] == "messages" and method == "GET":
        return "messages"
    return None
