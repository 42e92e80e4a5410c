"""How a caller presents its API key: `Authorization: Bearer rk_…` or `X-Api-Key: rk_…` (and, for Open311
reports, the form's `api_key`). Declared as security schemes, so the OpenAPI document says so."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer rk_…")
header_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="The same key in X-Api-Key")


async def presented_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    in_header: Annotated[str | None, Depends(header_key)],
) -> str:
    """The key as presented ("" for none); whether it is a key we know is the caller's business."""
    return (in_header or (credentials.credentials if credentials else "")).strip()
