"""`Idempotency-Key` for POSTs, as the IETF httpapi idempotency-key draft specifies.

The key is bound to the caller (its API key id), the operation (method and path) and a fingerprint of
the body. A repeat with the same key gets the stored response and changes nothing; with another body
or operation, 422; while the first is still running, 409. Only outcomes are stored: a success, or a
refusal by the rules (409); a request that decided nothing (404, 400, a fault of ours) gives its key
back, so the retry runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from fastapi.responses import Response

from rectify.api.render import error_response
from rectify.store.idempotency import IdempotencyStore, fingerprint

#: Marks a response that is a stored one, sent again.
REPLAYED = "Idempotent-Replayed"
#: The header, as routes take it (None when absent).
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description=(
            "Makes the request safe to retry (IETF httpapi idempotency-key draft): the same key with the same body "
            "gets the first response again; with another body or operation 422; while the first still runs 409."
        ),
    ),
]


def key_from(raw: str | None) -> str | None:
    """The header's key: the draft makes it a structured-field string ("…"); a bare token is taken too."""
    if raw is None:
        return None
    raw = raw.strip()
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


async def once(
    request: Request, scope: str, raw_key: str | None, payload: Any, run: Callable[[], Awaitable[Response]]
) -> Response:
    """Run `run` once per (scope, key): the first time for real, afterwards its stored response."""
    key = key_from(raw_key)
    if not key:
        return await run()
    path = request.scope["path"]
    operation = f"{request.method} {path}"
    store: IdempotencyStore = request.app.state.api.idempotency
    claim = await store.claim(scope, key, operation, fingerprint(payload))
    if claim.outcome == "mismatch":
        detail = (
            f"Idempotency-Key {key!r} was already used for another request ({claim.operation}, or another "
            "body); use a new key for a new request"
        )
        return error_response(path, 422, detail)
    if claim.outcome == "in_flight":
        detail = f"a request with Idempotency-Key {key!r} is still being processed; retry when it has finished"
        return error_response(path, 409, detail, {"Retry-After": "1"})
    if claim.outcome == "done":
        return Response(
            claim.response or b"",
            status_code=claim.status or 200,
            media_type=claim.media_type,
            headers={REPLAYED: "true"},
        )
    try:
        try:
            response = await run()
        except HTTPException as error:
            response = error_response(path, error.status_code, error.detail, error.headers)
    except BaseException:
        await store.release(scope, key)
        raise
    if 200 <= response.status_code < 300 or response.status_code == 409:  # done, or refused by a rule
        await store.finish(scope, key, response.status_code, response.media_type, bytes(response.body))
    else:  # nothing was decided (no such case, bad evidence, a fault of ours): the key may be used again
        await store.release(scope, key)
    return response
