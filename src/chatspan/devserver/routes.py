"""Which endpoint a request is for: OpenAI's `/v1/...` paths, Azure OpenAI's, and the control path.

Azure OpenAI serves the same API under `/openai/deployments/{deployment}/...` (requests that name a
model: `openai.AzureOpenAI` moves the model into the path) and `/openai/...` (the others, such as
the stored-completion list), always with an `api-version` query parameter. A deployment path
answers as the `/v1` path does, with the deployment as the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

FAULTS_PATH = "/_chatspan/faults"
_COLLECTION = ("chat", "completions")


@dataclass(frozen=True)
class Route:
    """An endpoint: `name` is a fault target (`chat`, `list`, `retrieve`, `update`, `delete`,
    `messages`) or `faults` for the control path."""

    name: str
    completion_id: str | None = None
    azure: bool = False
    deployment: str | None = None
    """The Azure deployment named in the path, which stands for the model."""


def find_route(method: str, path: str) -> Route | None:
    """The endpoint of `method path` (path without its query), or None when nothing is served there."""
    if path == FAULTS_PATH:
        return Route("faults") if method in ("GET", "POST") else None
    parts = [unquote(part) for part in path.split("/")]
    if parts[:2] == ["", "v1"]:
        rest, azure, deployment = parts[2:], False, None
    elif parts[:3] == ["", "openai", "deployments"] and len(parts) > 3 and parts[3]:
        rest, azure, deployment = parts[4:], True, parts[3]
    elif parts[:2] == ["", "openai"]:
        rest, azure, deployment = parts[2:], True, None
    else:
        return None
    name = _endpoint(method, rest)
    if name is None:
        return None
    completion_id = rest[2] if len(rest) > 2 else None
    return Route(name, completion_id, azure, deployment)


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
