"""POST /features: the request decoded (the image's base64 grey levels), the core's extractor, the answer."""

import base64
import binascii
from typing import Any

import numpy as np

from handler.schemas import FeaturesRequest
from model import demo_image, features
from model.errors import InputError, Violation
from model.schema import envelope


def _image(body: FeaturesRequest) -> np.ndarray | None:
    """The grey levels as a (height, width) array; InputError when the buffer is not width x height bytes."""
    image = body.image
    if image is None:
        return None
    if image.width * image.height > features.MAX_IMAGE_PIXELS:
        message = f"image: {image.width} x {image.height} pixels, at most {features.MAX_IMAGE_PIXELS}; send a crop"
        raise InputError([Violation("image", "image_pixels", image.width * image.height, message)])
    try:
        raw = base64.b64decode(image.pixels, validate=True)
    except (binascii.Error, ValueError) as err:
        message = "image.pixels: not base64; send the grey levels base64-encoded"
        raise InputError([Violation("image.pixels", "base64", "invalid", message)]) from err
    expected = image.width * image.height
    if len(raw) != expected:
        message = f"image.pixels: expected {expected} bytes ({image.width} x {image.height}), got {len(raw)}"
        raise InputError([Violation("image.pixels", "pixel_count", len(raw), message)])
    return np.frombuffer(raw, dtype=np.uint8).reshape(image.height, image.width).astype(np.float64)


def answer(body: FeaturesRequest, version: str) -> dict[str, Any]:
    return {**features.extract(body.outlines, body.scale, _image(body)).answer(), **envelope(version)}


def demo_answer(version: str) -> dict[str, Any]:
    """The synthetic demo in the form POST /features takes: grey levels as base64, and its outlines."""
    made = demo_image.demo()
    height, width = made.pixels.shape
    return {
        "synthetic": True,
        "note": demo_image.NOTE,
        "image": {"width": width, "height": height, "pixels": base64.b64encode(made.pixels.tobytes()).decode()},
        "outlines": made.outlines,
        **envelope(version),
    }
