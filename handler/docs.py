"""GET /docs: Swagger UI served by the function itself, pinned, under a Content-Security-Policy.

The assets come from the `fastapi-swagger` package (Swagger UI 5, which reads OpenAPI 3.1) and are
read on the first request for them, not at init. Every URL in the page starts with the stage prefix,
so it works under `/prod/` and from the bare API URL alike, and nothing is fetched from a third party.
"""

import html
from functools import cache
from importlib import resources

from handler.headers import page_headers
from model.schema import DISCLAIMER

# name -> (package, path inside it, media type); nothing else is served from /docs/assets/.
ASSETS = {
    "swagger-ui-bundle.js": ("fastapi_swagger.resources", "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("fastapi_swagger.resources", "swagger-ui.css", "text/css"),
    "docs.js": ("handler", "static/docs.js", "text/javascript"),
}
# Swagger UI sets style attributes from script, so styles may be inline; scripts may come from here only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = page_headers(CSP)
ASSET_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "public, max-age=86400"}


@cache
def asset(name: str) -> tuple[bytes, str] | None:
    """(bytes, media type) of a named asset, or None for any other name."""
    if name not in ASSETS:
        return None
    package, path, media_type = ASSETS[name]
    return resources.files(package).joinpath(path).read_bytes(), media_type


def page(root_path: str, title: str) -> str:
    """The Swagger UI page for a request under `root_path` (the stage prefix, or empty)."""
    root = html.escape(root_path)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}: API documentation</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css"></head>
<body><p role="note"><strong>{html.escape(DISCLAIMER)}</strong></p>
<div id="swagger-ui" data-openapi="{root}/openapi.json"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/assets/docs.js"></script>
</body></html>"""
