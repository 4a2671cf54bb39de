"""The LVK distance ansatz, in closed form.

Along each line of sight an LVK sky map describes distance with the ansatz
``p(r) = DISTNORM * r**2 * N(r; DISTMU, DISTSIGMA)`` for r > 0 (Singer et al.
2016). Everything here is closed-form in terms of the normal CDF and PDF, so
it is vectorised and needs no distance grid. Pixels without distance
information carry DISTMU = inf; their results are NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _phi(x: np.ndarray) -> np.ndarray:
    return _INV_SQRT_2PI * np.exp(-0.5 * np.square(x))


#: Below this x = mu/sigma the closed-form recurrence cancels catastrophically.
_X_TAIL = -3.0
_LAGUERRE_U, _LAGUERRE_W = np.polynomial.laguerre.laggauss(40)


def _truncated_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """J_n(x) = integral_0^inf t**n phi(t - x) dt for n = 2, 3, 4.

    Closed form for x >= -3; for the far tail (DISTMU far below zero, seen in
    low-probability pixels of real maps) Gauss-Laguerre quadrature of
    phi(x) * integral t**n exp(-t**2/2 - |x| t) dt, which stays accurate.
    """
    x = np.asarray(x, dtype=np.float64)
    j0 = ndtr(x)
    j1 = x * j0 + _phi(x)
    j2 = x * j1 + j0
    j3 = x * j2 + 2 * j1
    j4 = x * j3 + 3 * j2
    tail = x < _X_TAIL
    if np.any(tail):
        a = -x[tail][:, None]
        u = _LAGUERRE_U[None, :] / a  # t at the quadrature nodes
        base = _LAGUERRE_W[None, :] * np.exp(-0.5 * np.square(u)) / a * _phi(x[tail])[:, None]
        j2, j3, j4 = (np.array(j, dtype=np.float64, copy=True) for j in (j2, j3, j4))
        j2[tail], j3[tail], j4[tail] = ((base * u**n).sum(axis=1) for n in (2, 3, 4))
    return j2, j3, j4


def _clean(distmu: np.ndarray, distsigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = np.asarray(distmu, dtype=np.float64)
    sigma = np.asarray(distsigma, dtype=np.float64)
    good = np.isfinite(mu) & np.isfinite(sigma) & (sigma > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(good, mu / np.where(good, sigma, 1.0), np.nan)
    return x, sigma, good


def moments(distmu: np.ndarray, distsigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard deviation and normalisation of the ansatz per direction."""
    x, sigma, _ = _clean(distmu, distsigma)
    j2, j3, j4 = _truncated_moments(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sigma * j3 / j2
        var = np.square(sigma) * (j4 / j2 - np.square(j3 / j2))
        norm = 1.0 / (np.square(sigma) * j2)
    return mean, np.sqrt(np.maximum(var, 0.0)), norm


def marginal_moments(prob: np.ndarray, distmu: np.ndarray, distsigma: np.ndarray,
                     chunk: int = 2**18) -> tuple[float, float]:
    """All-sky mean and standard deviation of distance, weighted by pixel probability (summed in chunks, so a
    large map needs no full-size temporaries)."""
    rbar = r2bar = 0.0
    for start in range(0, len(prob), chunk):
        part = slice(start, start + chunk)
        mean, std, _ = moments(distmu[part], distsigma[part])
        good = np.isfinite(prob[part]) & np.isfinite(mean) & np.isfinite(std)
        p = np.asarray(prob[part])[good]
        rbar += float(np.sum(p * mean[good]))
        r2bar += float(np.sum(p * (np.square(std[good]) + np.square(mean[good]))))
    return rbar, float(np.sqrt(max(r2bar - rbar**2, 0.0)))


def conditional_cdf(r: np.ndarray, distmu: np.ndarray, distsigma: np.ndarray) -> np.ndarray:
    """P(distance < r) along each direction."""
    x, sigma, _ = _clean(distmu, distsigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.maximum(np.asarray(r, dtype=np.float64), 0.0) / sigma
    u = t - x
    k0 = ndtr(u) - ndtr(-x)
    k1 = x * k0 + _phi(x) - _phi(u)
    k2 = x * k1 + k0 - t * _phi(u)
    j2, _, _ = _truncated_moments(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(k2 / j2, 0.0, 1.0)


def conditional_pdf_volume(
    r: np.ndarray, distmu: np.ndarray, distsigma: np.ndarray, distnorm: np.ndarray
) -> np.ndarray:
    """The distance factor of the 3D density: DISTNORM * N(r; mu, sigma), per Mpc**3 per sr-density."""
    x, sigma, good = _clean(distmu, distsigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.asarray(r, dtype=np.float64) / sigma - x
        value = np.asarray(distnorm, dtype=np.float64) * _phi(z) / sigma
    return np.where(good, value, np.nan)
