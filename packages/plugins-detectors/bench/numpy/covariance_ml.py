"""numpy baseline of gfra's `covariance-ml` detector (packages/plugins-detectors/src/covariance-ml.ts
with src/algorithms/covariance.ts, `CovarianceCd` / `covarianceCdHost`) with its default
parameters: objective "ml", precision "float64", order "random", threshold "beta" 0.5, no
channel estimate; codebook per run [L, K] (K = N Q) or per trial [B, L, K].

Same algorithm: from gamma = 0, Sigma^{-1} = I / sigma^2, for every sweep and every coordinate k
of that sweep's order (the same order for every trial of the batch, as gfra):

    u = Sigma^{-1} s_k,   a = Re(s_k^H u),   b = ||Y^H u||^2 / M        (gfra's path for M < L;
                                                                       for M >= L: Re(u^H Sigma_hat u))
    d = max((b - a) / a^2, -gamma_k),   gamma_k += d,   Sigma^{-1} -= d / (1 + d a) u u^H

then q*_n = argmax_q gamma_{n,q}, score gamma_{n,q*} / beta_n, active when score > 0.5.
The random order: a fresh uniform permutation of 0 .. K-1 per sweep, drawn once per run and
shared by all trials (gfra's rule; gfra draws it from its own seeded stream, here from numpy's, or
given explicitly for the cross-check).

Differences from gfra: gfra loops over the trials on the host (one trial at a time, scalar float64
loops, and skips the Sherman-Morrison update when d == 0); here each coordinate step is batched
over all trials (float64, complex128), and a zero d is applied (it changes nothing). Sums run in a
different order, so results agree to float64 rounding before gfra rounds gamma to float32.
"""
import numpy as np


def random_orders(rng, K, sweeps):
    return [rng.permutation(K) for _ in range(sweeps)]


def covariance_ml(y, S, noise_var, orders, beta=None, Q=1, fraction=0.5):
    """y [B, L, M] complex; S [L, K] or [B, L, K]; orders: list of permutations of 0..K-1.

    Returns dict: gamma [B, K] float64, score/activity/message [B, N] (score needs beta [B, N])."""
    y = np.asarray(y, dtype=np.complex128)
    S = np.asarray(S, dtype=np.complex128)
    B, L, M = y.shape
    K = S.shape[-1]
    per_trial = S.ndim == 3
    cols = np.ascontiguousarray(S.transpose(0, 2, 1) if per_trial else S.T)  # [B, K, L] or [K, L]
    W = np.broadcast_to(np.eye(L, dtype=np.complex128) / noise_var, (B, L, L)).copy()  # Sigma^{-1}
    gamma = np.zeros((B, K))
    use_y = M < L
    if use_y:
        YH = np.ascontiguousarray(np.conj(y).transpose(0, 2, 1))  # [B, M, L]
    else:
        cov = np.matmul(y, np.conj(y).transpose(0, 2, 1)) / M  # [B, L, L]
    for order in orders:
        for k in order:
            s = cols[:, k, :] if per_trial else cols[k]  # [B, L] or [L]
            if per_trial:
                u = np.matmul(W, s[:, :, None])[:, :, 0]  # [B, L]
            else:
                u = W @ s  # [B, L]
            a = (np.conj(s) * u).sum(-1).real  # [B]
            if use_y:
                v = np.matmul(YH, u[:, :, None])[:, :, 0]  # [B, M] = Y^H u
                b = (np.square(v.real) + np.square(v.imag)).sum(-1) / M
            else:
                b = np.einsum("bi,bij,bj->b", np.conj(u), cov, u).real
            d = np.maximum((b - a) / (a * a), -gamma[:, k])
            gamma[:, k] += d
            c = d / (1 + d * a)
            W -= (c[:, None] * u)[:, :, None] * np.conj(u)[:, None, :]
    N = K // Q
    g3 = gamma.reshape(B, N, Q)
    out = {"gamma": gamma, "message": np.argmax(g3, axis=2)}
    if beta is not None:
        score = np.max(g3, axis=2) / np.asarray(beta, dtype=np.float64)
        out["score"] = score
        out["activity"] = (score > fraction).astype(np.float64)
    return out


def generate(rng, B, N, L, M, eps, beta, noise_var, per_trial=False):
    """As mmv_amp.generate (unit-norm complex Gaussian columns, one codebook per run [L, N] or per
    trial [B, L, N]), float64."""
    shape = (B, L, N) if per_trial else (L, N)
    S = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    S /= np.sqrt(np.sum(np.abs(S) ** 2, axis=-2, keepdims=True))
    beta = np.broadcast_to(np.asarray(beta, dtype=np.float64), (B, N)).copy()
    active = rng.random((B, N)) < eps
    h = np.sqrt(beta / 2)[..., None] * (rng.standard_normal((B, N, M)) + 1j * rng.standard_normal((B, N, M)))
    W = np.sqrt(noise_var / 2) * (rng.standard_normal((B, L, M)) + 1j * rng.standard_normal((B, L, M)))
    Y = np.matmul(S, h * active[..., None]) + W  # S [L, N] broadcasts over B; [B, L, N] is per trial
    return {"y": Y, "S": S, "beta": beta, "active": active}
