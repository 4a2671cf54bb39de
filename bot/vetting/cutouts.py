"""The alert's three stamps as images: ZTF sends gzipped FITS (63x63 float32), Rubin plain FITS written by
astropy's ``CCDData.write`` (image first, then variance and mask) (see :mod:`bot.brokers.rubin`)."""

from __future__ import annotations

import gzip
import io
import logging
import warnings

import numpy as np

__all__ = ["image"]

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"


def image(data: bytes | None) -> np.ndarray | None:
    """The first 2-D image of a stamp, or None when there is none or it cannot be read (said in the log)."""
    if not data:
        return None
    from astropy.io import fits

    try:
        raw = gzip.decompress(data) if data[:2] == GZIP_MAGIC else data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # ZTF's SIMPLE card is not quite standard
            with fits.open(io.BytesIO(raw), memmap=False) as hdus:
                for hdu in hdus:
                    if hdu.data is not None and getattr(hdu.data, "ndim", 0) == 2:
                        return np.asarray(hdu.data, dtype=np.float32)
    except (OSError, ValueError, EOFError) as exc:
        log.warning("a cutout could not be read: %s", exc)
    return None
