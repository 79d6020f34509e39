"""KServe's two REST protocols, the Open Inference Protocol (V2) and V1, over the same predictor.

`codec` holds what both share: JSON bodies, options, the model check, the one error type and its
answer. `v2` and `v1` hold each protocol's requests, answers and route table; their routes are
built on the first request under their prefix (handler.lazy_routes), not at init.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from handler.kserve import codec, v1, v2


def routes() -> list[BaseRoute]:
    """Both protocols' routes, V2 first (the order of the OpenAPI document)."""
    return [*v2.routes().routes, *v1.routes().routes]


# (prefix, route table) of each protocol
TABLES = ((codec.V2_PREFIX, v2.ROUTES), (codec.V1_PREFIX, v1.ROUTES))
