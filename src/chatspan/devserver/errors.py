"""OpenAI's error responses: `{"error": {"message", "type", "param", "code"}}` and their statuses."""

from __future__ import annotations

from typing import Any

_SERVER_ERROR_MESSAGES = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The server is overloaded or not ready yet.",
    504: "Gateway timeout.",
}


class ApiError(Exception):
    """An error the devserver answers with; raised anywhere while a request is handled."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body, in the shape of the spec's `ErrorResponse`."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 `invalid_request_error`, the answer to anything wrong with the request body."""
    return ApiError(400, message, param=param, code=code)


def status_error(status: int) -> ApiError:
    """The error OpenAI sends for an HTTP status with no more specific cause (used by fault injection)."""
    if status == 429:
        return rate_limit_error("requests", "the devserver", limit=0, used=0, requested=1, retry_after=0.0)
    if status >= 500:
        message = _SERVER_ERROR_MESSAGES.get(status, f"The server answered with status {status}.")
        return ApiError(status, message, type="server_error")
    if status == 401:
        return ApiError(status, "Incorrect API key provided.", code="invalid_api_key")
    if status == 404:
        return ApiError(status, "The requested resource does not exist.", code="not_found")
    return ApiError(status, f"The request failed with status {status}.")


def rate_limit_error(
    kind: str, model: str, *, limit: int, used: int, requested: int, retry_after: float
) -> ApiError:
    """A 429 `rate_limit_exceeded`, worded like OpenAI's; `kind` is `requests` or `tokens`."""
    unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
    message = (
        f"Rate limit reached for {model} on {unit}: Limit {limit}, Used {used}, Requested {requested}. "
        f"Please try again in {retry_after:.3g}s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    return ApiError(429, message, type=kind, code="rate_limit_exceeded")


def missing_api_key() -> ApiError:
    """The 401 for a request without a Bearer token."""
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def incorrect_api_key(key: str) -> ApiError:
    """The 401 for a Bearer token that is not the configured key; the key is masked as OpenAI masks it."""
    masked = f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}" if len(key) > 8 else "*" * len(key)
    return ApiError(
        401,
        f"Incorrect API key provided: {masked}. "
        "You can find your API key at https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def invalid_url(method: str, path: str) -> ApiError:
    """The 404 for a path the devserver does not serve, worded like OpenAI's."""
    return ApiError(404, f"Invalid URL ({method} {path})")
