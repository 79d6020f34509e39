"""The response headers of each kind of answer, defined once."""

# Every JSON answer, errors included, is not to be cached or sniffed as another type.
JSON_HEADERS = {
    "content-type": "application/json",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


def page_headers(csp: str) -> dict[str, str]:
    """The headers of an HTML page served under the Content-Security-Policy `csp`."""
    return {
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
    }
