"""numpy baseline of gfra's `scma-mpa` detector (packages/plugins-detectors/src/scma-mpa.ts),
variant "log-mpa" (exact sum-product in the log domain), one bit count J for every user, a
codebook per run [L, N Q] and per-resource channel state [B, N, L, M].

Same algorithm and the same schedule: the factor graph is read from the codebook (user n on RE l
when any codeword is non-zero there, |x|^2 > 1e-10 max |x|^2; REs with fewer than d_f users get
dummy slots with zero codewords); joint hypotheses c of the d_f slots of an RE, slot 0 the most
significant base-Q digit; per trial, RE l, hypothesis c

    phi_l(c) = -(1/sigma^2) sum_m |y[l, m] - sum_k h[u_k, l, m] x_{u_k, q_k(c)}[l]|^2

and T flooding iterations on the messages of the E = L d_f edges, starting from toRe = 0:

    prior(c)   = sum_k toRe[l, k, q_k(c)]                           (0/1 matrix `expand`, as gfra)
    toUser     = LSE_{c: q_k(c) = q} (phi + prior) - toRe[l, k, q]  (recipient's own message out)
    toRe       = S toUser - max_q (S toUser)                        (S: same-user sibling edges; not after the last iteration)
    belief     = sum over a user's edges of toUser; message = argmax_q; bit LLR = LSE_{bit 1} - LSE_{bit 0} (MSB first)

LSE = max + log(sum(exp(x - max))) per group. Differences from gfra: none in the mathematics;
gfra runs the message passing on the host in float64, one trial at a time (products of
exponentials, recomputed in the log domain where they underflow), here batched in complex64 /
float32 with a row gather in a transposed layout (hypotheses first), so sums run in another order
and results agree to float32 rounding. The per-device-bits branch of gfra (heterogeneous J_n) is
not implemented (not benched).
"""
import numpy as np


def build_graph(codebook, N, Q, J):
    """codebook [L, N Q] complex (column n Q + q). Returns the graph constants (host arrays)."""
    cb = np.asarray(codebook)
    L = cb.shape[0]
    peak = np.max(np.abs(cb) ** 2)
    users = []
    for l in range(L):
        on = [n for n in range(N) if np.any(np.abs(cb[l, n * Q:(n + 1) * Q]) ** 2 > 1e-10 * peak)]
        users.append(on)
    d = max(1, max(len(u) for u in users))
    C = Q ** d
    R = C // Q
    for on in users:
        while len(on) < d:
            on.append(-1)
    users = np.array(users, dtype=np.int64)  # [L, d]
    c_idx = np.arange(C)
    digit = np.stack([(c_idx // Q ** (d - 1 - k)) % Q for k in range(d)])  # [d, C]
    X = np.zeros((L, d, C), dtype=np.complex64)
    for l in range(L):
        for k in range(d):
            n = users[l, k]
            if n >= 0:
                X[l, k] = cb[l, n * Q + digit[k]]
    expand = np.zeros((d * Q, C), dtype=np.float32)
    groups = np.zeros((d, Q, R), dtype=np.int64)
    for k in range(d):
        for q in range(Q):
            members = np.nonzero(digit[k] == q)[0]
            expand[k * Q + q, members] = 1
            groups[k, q] = members
    E = L * d
    edge_user = np.zeros((E, N), dtype=np.float32)
    siblings = np.zeros((E, E), dtype=np.float32)
    slot_user = np.zeros(E, dtype=np.int64)  # user of each edge (0 for a dummy: its codeword is zero)
    for l in range(L):
        for k in range(d):
            n = users[l, k]
            if n < 0:
                continue
            e = l * d + k
            edge_user[e, n] = 1
            slot_user[e] = n
            for l2 in range(L):
                for k2 in range(d):
                    e2 = l2 * d + k2
                    if e2 != e and users[l2, k2] == n:
                        siblings[e, e2] = 1
    ones = np.array([[q for q in range(Q) if (q >> (J - 1 - j)) & 1] for j in range(J)], dtype=np.int64)  # [J, Q/2]
    zeros = np.array([[q for q in range(Q) if not (q >> (J - 1 - j)) & 1] for j in range(J)], dtype=np.int64)
    return {
        "L": L, "N": N, "Q": Q, "J": J, "d": d, "C": C, "R": R, "E": E,
        "users": users, "X": X, "expand": expand, "groups": groups.reshape(-1),
        "siblingsT": np.ascontiguousarray(siblings.T), "edge_user": edge_user, "slot_user": slot_user,
        "ones": ones, "zeros": zeros,
    }


def _max0(x):
    """max over the leading axis by pairwise np.maximum of contiguous halves (exact)."""
    while x.shape[0] > 1:
        h = x.shape[0] // 2
        y = np.maximum(x[:h], x[h:2 * h])
        x = np.concatenate([y, x[2 * h:]]) if x.shape[0] % 2 else y
    return x[0]


def _lse(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))).squeeze(axis)


def scma_mpa(y, channel, noise_var, g, iterations=10):
    """y [B, L, M] complex64; channel [B, N, L, M] complex64; g from build_graph.

    Returns dict: message [B, N], bit_llr [B, N, J]."""
    B, L, M = y.shape
    d, C, R, E, Q, N, J = g["d"], g["C"], g["R"], g["E"], g["Q"], g["N"], g["J"]
    # slot channels H[l, b, m, k] = h[b, u_k, l, m]
    l_idx = np.repeat(np.arange(L), d)
    slots = channel[:, g["slot_user"], l_idx, :]  # [B, E, M]
    hT = slots.reshape(B, L, d, M).transpose(1, 0, 3, 2).reshape(L, B * M, d)
    s = np.matmul(hT, g["X"])  # [L, B*M, C]
    yT = y.transpose(1, 0, 2).reshape(L, B * M, 1)
    diff = yT - s
    dist = (np.square(diff.real) + np.square(diff.imag)).reshape(L, B, M, C).sum(2)  # [L, B, C]
    phi = (dist.transpose(1, 0, 2) * np.float32(-1 / noise_var)).reshape(B * L, C)

    # The LSE over each group runs in a transposed layout, hypotheses first: phiT [C, B*L],
    # grouped [R, d*Q, B*L] (row gathers), so that max and sum reduce the leading axis (numpy's
    # reductions over a short trailing axis are several times slower).
    phiT = np.ascontiguousarray(phi.T)
    expandT = np.ascontiguousarray(g["expand"].T)  # [C, d*Q]
    groupsT = g["groups"].reshape(d * Q, R).T  # [R, d*Q]
    to_re = np.zeros((B, E, Q), dtype=np.float32)
    to_user = to_re
    for t in range(iterations):
        totT = phiT + expandT @ to_re.reshape(B * L, d * Q).T  # [C, B*L]: phi + prior
        grouped = totT[groupsT]  # [R, d*Q, B*L]
        m = _max0(grouped)
        lse = m + np.log(np.exp(grouped - m).sum(0))  # [d*Q, B*L]
        to_user = lse.T.reshape(B, E, Q) - to_re
        if t < iterations - 1:
            # sum over the other edges of the same user: one 2-D product over all B*Q columns
            tot = (to_user.transpose(0, 2, 1).reshape(B * Q, E) @ g["siblingsT"]).reshape(B, Q, E).transpose(0, 2, 1)
            to_re = tot - np.max(tot, axis=2, keepdims=True)
    per_q = to_user.transpose(0, 2, 1).reshape(B * Q, E)
    belief = (per_q @ g["edge_user"]).reshape(B, Q, N).transpose(0, 2, 1)  # [B, N, Q]
    message = np.argmax(belief, axis=2)
    ones = _lse(belief[:, :, g["ones"]], 3)  # [B, N, J]
    zeros = _lse(belief[:, :, g["zeros"]], 3)
    return {"message": message, "bit_llr": ones - zeros}


def scma6x4():
    """The 6-user, 4-RE, 4-point SCMA codebook (as src/testing/scma-reference.ts), [L, N Q] complex."""
    A = [0.7851, -0.2243, 0.2243, -0.7851]
    Bs = [-0.1815 - 0.1318j, -0.6351 - 0.4615j, 0.6351 + 0.4615j, 0.1815 + 0.1318j]
    Cs = [-0.6351 + 0.4615j, 0.1815 - 0.1318j, -0.1815 + 0.1318j, 0.6351 - 0.4615j]
    D = [0.1392 - 0.1759j, 0.4873 - 0.6156j, -0.4873 + 0.6156j, -0.1392 + 0.1759j]
    Ee = [-0.0055 - 0.2242j, -0.0193 - 0.7848j, 0.0193 + 0.7848j, 0.0055 + 0.2242j]
    Z = [0, 0, 0, 0]
    layout = [[Z, Bs, Z, A], [A, Z, Bs, Z], [Cs, D, Z, Z], [Z, Z, A, Ee], [Ee, Z, Z, Cs], [Z, A, D, Z]]
    N, L, Q = 6, 4, 4
    cb = np.zeros((L, N * Q), dtype=np.complex64)
    for n in range(N):
        for l in range(L):
            for q in range(Q):
                cb[l, n * Q + q] = layout[n][l][q]
    return cb


def generate(rng, B, M, noise_var, codebook, N=6, Q=4):
    """Uniform messages, per-resource Rayleigh channel h[b, n, l, m] ~ CN(0, 1), noise CN(0, noise_var)."""
    L = codebook.shape[0]
    msg = rng.integers(0, Q, size=(B, N))
    h = (rng.standard_normal((B, N, L, M)) + 1j * rng.standard_normal((B, N, L, M))) / np.sqrt(2)
    x = codebook.reshape(L, N, Q)[:, np.arange(N)[None, :], msg]  # [L, B, N]
    y = np.einsum("bnlm,lbn->blm", h, x)
    y = y + np.sqrt(noise_var / 2) * (rng.standard_normal((B, L, M)) + 1j * rng.standard_normal((B, L, M)))
    return {"y": y.astype(np.complex64), "channel": h.astype(np.complex64), "message": msg}
