"""Helpers shared by the zoo definitions (argument checks only; no layers live here)."""
from __future__ import annotations

from typing import Tuple

from symnet.base import ParamError


def check_dtype(net: str, dtype: str) -> None:
    """Raise ParamError unless ``dtype`` is float32 (MXNet's fp16 Cast variants are not built)."""
    if str(dtype) != "float32":
        raise ParamError(f"{net}: dtype={dtype!r} is not supported; only 'float32' graphs are "
                         "built (cast the data or parameters instead)")


def parse_image_shape(net: str, image_shape) -> Tuple[int, int, int]:
    """``'3,224,224'`` or ``(3, 224, 224)`` -> (channels, height, width).

    Raises:
        ParamError: not three positive integers.
    """
    if isinstance(image_shape, str):
        parts = [p for p in image_shape.replace(" ", "").split(",") if p]
    else:
        parts = list(image_shape)
    try:
        shape = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise ParamError(f"{net}: image_shape={image_shape!r} is invalid; expected "
                         "'channels,height,width', e.g. '3,224,224'")
    return shape  # type: ignore[return-value]
