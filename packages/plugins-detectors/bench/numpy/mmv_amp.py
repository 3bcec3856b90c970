"""numpy baseline of gfra's `mmv-amp` detector (packages/plugins-detectors/src/mmv-amp.ts with
src/algorithms/amp.ts, `mmvAmp` and `bernoulliGaussianDenoiser`), with its default parameters:
noiseEstimate "residual", onsager "matrix", threshold "map", no damping, Q = 1 or more sequences
per device, a codebook per run [L, K] or per trial [B, L, K] (K = N Q).

Same algorithm, step by step (X_0 = 0, R_0 = Y, tau_0^2 = ||Y||_F^2 / (L M)):

    tau_t^2 = ||R_t||_F^2 / (L M)                       (t >= 1; per trial)
    Z_t = X_t + S^H R_t
    e_k = ||z_k||^2; omega = beta / (beta + tau^2); llr = beta e / (tau^2 (beta + tau^2)) - M log1p(beta / tau^2)
    phi = sigmoid(llr + log(p / (1 - p))), p = eps / Q; c = phi (1 - phi) omega^2 / tau^2
    X_{t+1} = phi omega Z_t                             (damping d > 0: (1 - d) eta + d X_t from t = 1 on)
    R_{t+1} = Y - S X_{t+1} + (1/L) (R_t Z_t^H diag(c) Z_t + (sum_k phi_k omega_k) R_t)

then the decision from the last denoiser input: q*_n = argmax_q ||z_{n,q}||^2, LLR_n = the
denoiser's llr at ||z_{n,q*}||^2 with the last tau^2 and the prior of one sequence, active when
LLR_n > -log(p / (1 - p)) ("map"); channel estimate = row n Q + q* of X_T. It also keeps
||R_t||_F^2 for t = 0 .. T, as gfra's divergence diagnostics do (here it is the same sum that
gives tau^2, computed once).

Differences from gfra (none in the mathematics): complex64 arrays instead of gfra's stacked-real
float32 layout ([Re; Im] rows, real(S) = [[Sr, -Si], [Si, Sr]]), so sums run in a different order
and the outputs agree to float32 rounding, not bit for bit; the Onsager term R Z^H diag(c) Z is
formed directly in complex arithmetic. With a codebook per run the arrays are kept in the layout
[rows, B, M] so that S^H R and S X are one 2-D matrix product for the whole batch (gfra: one
product per chunk of 16 trials); per trial they are [B, rows, M] and the products are batched (np.matmul over B).
"""
import numpy as np


def mmv_amp(y, S, beta, eps, Q=1, iterations=50, damping=0.0, dtype=np.float32):
    """y [B, L, M] complex; S [L, K] or [B, L, K] complex; beta [B, N]; eps [N].

    Returns dict: llr [B, N], activity [B, N] (0/1), message [B, N], channel [B, N, M] complex,
    residual_norms [T + 1, B].
    """
    cdt = np.complex64 if dtype == np.float32 else np.complex128
    y = np.asarray(y, dtype=cdt)
    S = np.asarray(S, dtype=cdt)
    beta = np.asarray(beta, dtype=dtype)
    eps = np.asarray(eps, dtype=dtype)
    B, L, M = y.shape
    K = S.shape[-1]
    N = K // Q
    per_trial = S.ndim == 3
    p = eps / dtype(Q)
    log_odds_dev = np.log(p) - np.log1p(-p)  # [N]
    log_odds = np.repeat(log_odds_dev, Q)  # [K], row n Q + q
    beta_rows = np.repeat(beta, Q, axis=1)  # [B, K]
    LM = dtype(L * M)

    if per_trial:
        # layout [B, rows, M]; per-row scalars [B, K]; per-trial scalars [B, 1]
        Yv = y
        SH = np.ascontiguousarray(np.conj(S).transpose(0, 2, 1))  # [B, K, L]

        def apply_sh(R):
            return np.matmul(SH, R)

        def apply_s(X):
            return np.matmul(S, X)

        rows_axis = 1
        b_rows = beta_rows
        lo = log_odds[None, :]

        def per_trial_col(v):  # [B] -> broadcast against [B, K]
            return v[:, None]

        def to_bkm(V):
            return V

        def from_bkm(V):
            return V
    else:
        # layout [rows, B, M]: S^H R and S X as one 2-D product over all B*M columns
        Yv = np.ascontiguousarray(y.transpose(1, 0, 2))  # [L, B, M]
        SH = np.ascontiguousarray(np.conj(S).T)  # [K, L]

        def apply_sh(R):
            return (SH @ R.reshape(L, B * M)).reshape(K, B, M)

        def apply_s(X):
            return (S @ X.reshape(K, B * M)).reshape(L, B, M)

        rows_axis = 0
        b_rows = np.ascontiguousarray(beta_rows.T)  # [K, B]
        lo = log_odds[:, None]

        def per_trial_col(v):  # [B] -> broadcast against [K, B]
            return v[None, :]

        def to_bkm(V):
            return V.transpose(1, 0, 2)

        def from_bkm(V):
            return V.transpose(1, 0, 2)

    def energy(V):  # row energies, summed over M: [K, B] or [B, K] (einsum on the real view: fastest)
        v = np.ascontiguousarray(V).view(dtype)
        return np.einsum("...k,...k->...", v, v)

    def frob(V):  # ||V_b||_F^2 per trial [B]
        return energy(V).sum(rows_axis)

    X = np.zeros((B, K, M) if per_trial else (K, B, M), dtype=cdt)
    R = Yv
    norm = frob(Yv)
    norms = [norm]
    tau = None
    e = None
    with np.errstate(over="ignore", under="ignore"):
        for t in range(iterations):
            tau = per_trial_col(norm / LM)  # tau_0 from ||Y||^2, then from ||R_t||^2
            Z = X + apply_sh(R)
            e = energy(Z)
            bpt = b_rows + tau
            omega = b_rows / bpt
            llr = b_rows * e / (tau * bpt) - M * np.log1p(b_rows / tau)
            phi = 1 / (1 + np.exp(-(llr + lo)))
            c = phi * (1 - phi) * np.square(omega) / tau
            gain = phi * omega
            eta = Z * gain[..., None]
            X_next = (1 - damping) * eta + damping * X if (damping > 0 and t > 0) else eta
            sum_gain = gain.sum(rows_axis)  # [B]
            # Onsager: (1/L) (R G + sum_gain R), G_b = Z_b^H diag(c_b) Z_b (M x M per trial)
            Zb = to_bkm(Z)
            cb = c if per_trial else c.T  # [B, K]
            G = np.matmul((np.conj(Zb) * cb[..., None]).transpose(0, 2, 1), Zb)  # [B, M, M]
            RG = from_bkm(np.matmul(to_bkm(R), G))
            sg = sum_gain[:, None, None] if per_trial else sum_gain[None, :, None]
            R = Yv - apply_s(X_next) + (RG + sg * R) / dtype(L)
            X = X_next
            norm = frob(R)
            norms.append(norm)

    # decision from the last denoiser input (energy e, tau of the last iteration)
    eb = e if per_trial else e.T  # [B, K]
    tb = tau if per_trial else tau.T  # [B, 1]
    e3 = eb.reshape(B, N, Q)
    message = np.argmax(e3, axis=2)
    best = np.max(e3, axis=2)  # [B, N]
    bpt = beta + tb
    with np.errstate(over="ignore", under="ignore"):
        llr = beta * best / (tb * bpt) - M * np.log1p(beta / tb)
    activity = (llr > -log_odds_dev[None, :]).astype(dtype)
    Xb = to_bkm(X).reshape(B, N, Q, M)
    channel = np.take_along_axis(Xb, message[:, :, None, None], axis=2)[:, :, 0, :]
    return {
        "llr": llr,
        "activity": activity,
        "message": message,
        "channel": channel,
        "residual_norms": np.stack(norms),
    }


def generate(rng, B, N, L, M, eps, beta, noise_var, per_trial, dtype=np.float32):
    """Inputs with the distributions of the bench: unit-norm complex Gaussian pilot columns (one
    codebook per run [L, N] or per trial [B, L, N]), activity ~ Bernoulli(eps) per device and trial,
    h_n ~ CN(0, beta_n I_M), noise CN(0, noise_var)."""
    cdt = np.complex64 if dtype == np.float32 else np.complex128
    shape = (B, L, N) if per_trial else (L, N)
    S = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    S /= np.sqrt(np.sum(np.abs(S) ** 2, axis=-2, keepdims=True))
    beta = np.broadcast_to(np.asarray(beta, dtype=np.float64), (B, N))
    active = rng.random((B, N)) < eps
    h = np.sqrt(beta / 2)[..., None] * (rng.standard_normal((B, N, M)) + 1j * rng.standard_normal((B, N, M)))
    X = h * active[..., None]
    W = np.sqrt(noise_var / 2) * (rng.standard_normal((B, L, M)) + 1j * rng.standard_normal((B, L, M)))
    Y = np.matmul(S, X) + W
    return {
        "y": Y.astype(cdt),
        "S": S.astype(cdt),
        "beta": np.ascontiguousarray(beta, dtype=dtype),
        "eps": np.full(N, eps, dtype=dtype),
    }
