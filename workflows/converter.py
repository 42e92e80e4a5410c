"""The data converter every client, worker and replayer of Rectify uses: the SDK's pydantic converter, with one
cache of pydantic type adapters for the whole process.

The SDK builds a new payload converter for each workflow it runs (`payload_converter_class()` inside the
sandbox), and each new converter starts with an empty cache of type adapters. So a case's first command built a
`TypeAdapter` for the command union (about 4 ms, measured in issue 19's claim profile), its start one for the
workflow's input (the policy's whole schema), its first append one for the outcome: on the path of every report
and of every case's first command. A type adapter only validates and is safe to share across threads, so the
converter here keeps them in one bounded cache per process. The JSON it reads and writes is the SDK's, unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import DataConverter

#: Type adapters by type hint, for every converter of this process (the SDK's own bound: 1024).
_shared_adapters = functools.lru_cache(maxsize=1024)(TypeAdapter)


class SharedAdaptersJSON(PydanticJSONPlainPayloadConverter):
    """The SDK's pydantic JSON converter, with the process's cache of type adapters instead of its own."""

    def __init__(self) -> None:
        super().__init__()
        self._type_adapter = _shared_adapters

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._type_adapter = _shared_adapters


class RectifyPayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic payload converter (nullary, as the SDK builds it per workflow), sharing type adapters."""

    def __init__(self) -> None:
        super().__init__(max_cached_type_adapters=0)
        shared = (
            SharedAdaptersJSON() if isinstance(c, PydanticJSONPlainPayloadConverter) else c
            for c in self.converters.values()
        )
        self._set_converters(*shared)


data_converter = DataConverter(payload_converter_class=RectifyPayloadConverter)
