"""The OpenAPI document, made to describe what the API really answers.

FastAPI documents each route's success and its own ``HTTPValidationError``; the API answers
every error in one shape (``ErrorOut``: ``{detail, code, errors?}``, ``api/errors.py``) and
can refuse any call for reasons shared by all routes. This module completes FastAPI's document
once, when it is first served:

* the bearer key as a security scheme on every ``/api`` operation (401 without it, 403 when
  its scopes or guilds do not cover the call);
* the shared refusals on each operation where they can happen: 400 (a body that cannot be
  parsed), 404 (an unknown guild or resource in the path), 409 (the guild turned the feature
  off, an ``Idempotency-Key`` re-used for another request), 422 (``ErrorOut`` with ``errors``,
  never FastAPI's ``HTTPValidationError``), 503 ``database_unavailable`` with ``Retry-After``;
* every 4xx/5xx answer, including those routes declare themselves with their business codes
  (``responses=`` in ``features/*/api.py``), is an ``ErrorOut``;
* writes take an ``Idempotency-Key`` header and may answer ``Idempotent-Replayed: true``.

``docs/api-errors.md`` is the same contract in prose; ``tests/api/test_openapi_fuzz.py``
checks the document against the running API with schemathesis.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from guildbank.api.docs import install_docs
from guildbank.api.errors import ErrorOut
from guildbank.api.idempotency import MAX_IDEMPOTENCY_KEY
from guildbank.core.ids import DISCORD_ID_PATTERN, SNOWFLAKE_PATTERN

__all__ = ["document", "install_openapi"]

API_PREFIX = "/api/"
WRITES = frozenset({"post", "put", "patch", "delete"})
# A write route's ``openapi_extra`` flag: it takes no Idempotency-Key.
NO_IDEMPOTENCY_KEY = "x-no-idempotency-key"
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}
SECURITY_SCHEME = "bearer"

_RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
# Refusals every operation shares, with the condition under which an operation can meet them.
_SHARED: dict[str, tuple[str, dict[str, Any]]] = {
    "400": (
        "A rule refused a value (e.g. `invalid_id`), or the body is not valid JSON text",
        {},
    ),
    "401": (
        "No API key, or an unknown or revoked one (`unauthorized`)",
        {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    ),
    "403": ("The API key lacks the scope (`forbidden`) or this guild (`forbidden_guild`)", {}),
    "404": ("An unknown guild or resource in the path (`*_not_found`)", {}),
    "409": (
        "A conflict with the current state: the guild turned this feature off"
        " (`feature_disabled`), or the Idempotency-Key was used for another request"
        " (`idempotency_key_reused`)",
        {},
    ),
    "422": ("The request does not match this schema (`validation_error`; `errors` says where)", {}),
    "429": (
        "Too many balance changes for this member (`rate_limited`)",
        {"Retry-After": _RETRY_AFTER},
    ),
    "503": (
        "The database is unavailable right now (`database_unavailable`); retry after"
        " `Retry-After` (with the same Idempotency-Key for a write)",
        {"Retry-After": _RETRY_AFTER},
    ),
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the write safe to retry: a repeat with the same key answers the "
    "first response and changes nothing (docs/api-errors.md)",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _shared_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The shared refusals this operation can meet."""
    statuses = ["401", "403", "503"]
    has_body = "requestBody" in operation
    if has_body or operation.get("parameters"):
        statuses.append("400")
    if "{" in path:
        statuses.append("404")
    if "{guild_id}" in path or method in WRITES:
        statuses.append("409")
    if has_body or operation.get("parameters") or method in WRITES:  # Idempotency-Key
        statuses.append("422")
    return statuses


def _error_response(description: str, headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
    if headers:
        response["headers"] = copy.deepcopy(headers)
    return response


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    operation.setdefault("security", [{SECURITY_SCHEME: []}])
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in _shared_statuses(path, method, operation):
        responses.setdefault(status, {})
    for status, response in responses.items():
        if status[0] not in "45":
            continue
        shared_description, headers = _SHARED.get(status, ("An error", {}))
        declared = response.get("description")
        if not declared or declared == "Validation Error":  # FastAPI's own 422
            declared = shared_description
        responses[status] = _error_response(declared, headers)
    operation["responses"] = dict(sorted(responses.items()))
    # Routes made idempotent otherwise (the outbox worker's, by lease) take no key.
    if method in WRITES and not operation.pop(NO_IDEMPOTENCY_KEY, False):
        parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
            parameters.append(dict(_IDEMPOTENCY_KEY))
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                response.setdefault("headers", {}).update(copy.deepcopy(_REPLAYED))


def _drop_fastapi_validation_schemas(openapi: dict[str, Any]) -> None:
    """FastAPI's HTTPValidationError (and its ValidationError), unless something still uses
    them: every 422 is an ErrorOut now."""
    schemas = openapi["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{name}"' not in json.dumps(openapi):
            schemas.pop(name, None)


def _exact_ids(node: Any) -> None:
    """Discord ids are validated by a loose pattern, then bounded below 2**63 (with a clearer
    message than a long pattern's); the document gives the exact pattern instead. A map keyed
    by such ids (role rewards) refuses any other key: pydantic's ``patternProperties`` alone
    would let a client believe other keys are free."""
    if isinstance(node, dict):
        if node.get("pattern") == SNOWFLAKE_PATTERN:
            node["pattern"] = DISCORD_ID_PATTERN
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _exact_ids(value)
    elif isinstance(node, list):
        for value in node:
            _exact_ids(value)


def document(base: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document ``base``, completed (see the module docstring)."""
    openapi = copy.deepcopy(base)
    _exact_ids(openapi)
    components = openapi.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `guildbank create-api-key` or the dashboard",
    }
    for path, item in openapi.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in item.items():
            if isinstance(operation, dict) and method in {"get", "head", *WRITES}:
                _complete(path, method, operation)
    _drop_fastapi_validation_schemas(openapi)
    return openapi


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document as ``app.openapi()`` (built once, on first use), and
    its interactive docs page from our own files (``api/docs.py``: no CDN)."""
    install_docs(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
