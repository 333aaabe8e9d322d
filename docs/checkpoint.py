#!/usr/bin/env python3
"""The trained potential of an isingflow run, in NumPy.

A run directory written by `isingflow` (config.json and checkpoint.npz)
holds the flow's potential: the time t in [0, T], T = flow_steps *
epsilon, selects block k of K, the one of t in [k T/K, (k+1) T/K)
(t = T: the last), and

    phi_k(x) = 1/2 x.S_k.x + psi_k(x)

with S_k the symmetrised quadratic part (on a torus circulant, from its
spectrum or its kernel; absent without it) and psi_k, for the dense
potential (--potential dense),

    psi_k(x) = sum_j w_kj ln cosh(a_kj . x)

with a_kj the rows of A_k, and for the multiscale potential
(--potential multiscale; symmetry.Multiscale in Go, docs/multiscale.md)

    psi_k(x) = sum_l sum_c (w_lc / s_l^d) sum_r ln cosh u_lc(r),
    u_lc(r)  = sum_o theta_lco sum_{delta in o} y_l(r + s_l delta),
    y_l(r)   = s_l^(-d/2) sum_{b in [0, s_l)^d} x(r + b),

levels l = 0 ... 4 of block side s_l = 2^l (clamped to L), c = 1 ... C
channels, r over all N sites of the torus, and o the orbits of the
offsets delta in [-1, 1]^d under the signed permutations of their
coordinates (in two dimensions the centre, the 4 edges, the 4 corners),
one kernel parameter theta_lco each. x is a configuration of the N = L^d
sites, in the lattice's row-major order (the last axis fastest), or a
batch of them, one per row.

As a program, it prints phi, its gradient and its Laplacian at the rows of
an .npy file as JSON:

    python3 docs/checkpoint.py RUN_DIR --t 0.3 --x x.npy

As a module:

    import checkpoint
    pot = checkpoint.load("runs/L16_T2.269000_...")
    phi, grad, lap = pot.evaluate(x, t=0.3)

The parameters are the named arrays of checkpoint.npz,
ck["params/block3/shallow/A"] (H x N) and so on, listed with their
offsets under "layout" in json.loads(bytes(ck["meta"])). The multiscale
potential's arrays have no names of their own: block k's are
"params/block<k>/term0/quadratic/spectrum" and "params/block<k>/term1",
the kernels theta (levels x C x orbits, row-major) followed by the
weights w (levels x C). Checkpoints without a layout (written before the
names existed, or of one multiscale block without the quadratic part)
hold one flat array "params", which load() splits the same way. See
docs/isingflow.md, "Using a trained flow outside Go".
"""

import argparse
import json
import math
import os
import sys

import numpy as np


def lncosh(u):
    """ln cosh u, without overflow (as the Go code computes it)."""
    a = np.abs(u)
    return a + np.log1p(np.exp(-2 * a)) - math.log(2)


# The fixed geometry of the multiscale potential (model.MultiscaleLevels and
# model.MultiscaleRadius in Go; config.json does not store them).
MULTISCALE_LEVELS = 5
MULTISCALE_RADIUS = 1


def lncosh_derivs(u):
    """tanh u and 1 - tanh^2 u from one exponential, as Go computes them."""
    e = np.exp(-2 * np.abs(u))
    inv = 1 / (1 + e)
    return np.sign(u) * (1 - e) * inv, 4 * e * inv * inv


def offset_orbits(d, R):
    """The orbits of the offsets delta in [-R, R]^d under the signed
    permutations of their coordinates, in the order of the parameters
    (symmetry.offsetOrbits): by their sorted absolute coordinates, largest
    first, compared lexicographically; orbit 0 is the origin."""
    side = 2 * R + 1
    orbits = {}
    for idx in range(side ** d):
        delta = tuple(int(v) - R for v in np.unravel_index(idx, [side] * d))
        key = tuple(sorted((abs(v) for v in delta), reverse=True))
        orbits.setdefault(key, []).append(delta)
    return [orbits[key] for key in sorted(orbits)]


def quadratic_layout(model):
    """The layout [(name, shape)] of the quadratic part, or []."""
    n = model["L"] ** model["dim"]
    shape = [model["L"]] * model["dim"]
    if not model.get("quadratic"):
        return []
    if model.get("open"):
        return [("quadratic/S", [n, n])]
    if model.get("quadratic_basis") == "spectral":
        return [("quadratic/spectrum", shape)]
    return [("quadratic/kernel", shape)]


def multiscale_size(model):
    """The number of parameters of one multiscale potential: the kernels,
    levels x C x orbits, then the weights, levels x C."""
    norb = len(offset_orbits(model["dim"], MULTISCALE_RADIUS))
    return MULTISCALE_LEVELS * model["channels"] * (norb + 1)


def join(prefix, name):
    """prefix/name, either of which may be empty."""
    return "/".join(p for p in (prefix, name) if p)


def model_layout(model):
    """The layout [(name, shape)] of the parameters of the model of
    config.json's "model", in the order of the flat vector: the names the
    Go code gives them (flow.Layout), for checkpoints without names. The
    multiscale potential's parameters are one array without a name of its
    own: "term1" beside the quadratic part's "term0/quadratic/...", and
    "" (block<k> with several blocks) without it."""
    if model["potential"] == "multiscale":
        q = quadratic_layout(model)
        block = [("term0/" + name, s) for name, s in q] + [("term1" if q else "", [multiscale_size(model)])]
    else:
        n = model["L"] ** model["dim"]
        block = quadratic_layout(model) + [("shallow/A", [model["hidden"], n]), ("shallow/w", [model["hidden"]])]
    blocks = max(1, model.get("blocks", 0))
    if blocks == 1:
        return block
    return [(join("block%d" % k, name), s) for k in range(blocks) for name, s in block]


class Dense:
    """The dense potential sum_j w_j ln cosh(a_j . x)."""

    def __init__(self, A, w):
        self.A, self.w = A, w

    def evaluate(self, x):
        """phi, grad phi and the Laplacian at the rows of x (B x N)."""
        A, w = self.A, self.w
        u = x @ A.T
        th = np.tanh(u)
        phi = lncosh(u) @ w
        grad = (th * w) @ A
        lap = ((1 - th * th) * w) @ (A * A).sum(axis=1)
        return phi, grad, lap


class Multiscale:
    """The multiscale potential (symmetry.Multiscale) on the periodic
    lattice of the given shape: kernels theta (levels x C x orbits) and
    weights w (levels x C)."""

    def __init__(self, shape, theta, w, radius=MULTISCALE_RADIUS):
        self.shape = list(shape)
        self.d = len(shape)
        self.theta, self.w = theta, w
        self.orbits = offset_orbits(self.d, radius)
        levels, C, norb = theta.shape
        if norb != len(self.orbits) or w.shape != (levels, C):
            raise ValueError("multiscale kernels %s and weights %s for %d orbits" % (theta.shape, w.shape, len(self.orbits)))
        # Per level the block side on every axis (2^l clamped to L) and
        # rho_lc = |e_lc|^2, the squared norm of channel c's stencil
        # e_lc = s^(-d/2) sum_o theta_o sum_{delta in o} sum_b 1[. = s delta + b]
        # on the torus (offsets that coincide mod L add).
        self.sides, self.rho = [], np.zeros((levels, C))
        for l in range(levels):
            side = [min(2 ** l, L) for L in self.shape]
            self.sides.append(side)
            box = np.zeros(self.shape)
            box[tuple(slice(0, s) for s in side)] = 1 / math.sqrt(np.prod(side))
            for c in range(C):
                e = np.zeros(self.shape)
                for o, offs in enumerate(self.orbits):
                    for delta in offs:
                        e += theta[l, c, o] * self._shift(box, [s * v for s, v in zip(side, delta)])
                self.rho[l, c] = (e * e).sum()

    def _shift(self, y, shift):
        """y translated by shift: its value at r is y(r - shift) (the
        lattice axes are the last d of y)."""
        return np.roll(y, tuple(shift), axis=tuple(range(y.ndim - self.d, y.ndim)))

    def _box(self, y, side, adjoint):
        """s^(-d/2) sum_{b in [0, s)^d} y(r + b), or y(r - b) for the adjoint."""
        axis0 = y.ndim - self.d
        for a, s in enumerate(side):
            if s > 1:
                sign = 1 if adjoint else -1
                y = sum(np.roll(y, sign * t, axis=axis0 + a) for t in range(s))
        return y / math.sqrt(np.prod(side))

    def _orbit_sum(self, y, side, offs):
        """sum_{delta in o} y(r + s delta), its own adjoint (o holds -delta
        with delta)."""
        return sum(self._shift(y, [-s * v for s, v in zip(side, delta)]) for delta in offs)

    def evaluate(self, x):
        """phi, grad phi and the Laplacian at the rows of x (B x N)."""
        B = x.shape[0]
        X = x.reshape([B] + self.shape)
        axes = tuple(range(1, self.d + 1))
        phi, lap, grad = np.zeros(B), np.zeros(B), np.zeros_like(X)
        for l, side in enumerate(self.sides):
            y = self._box(X, side, False)
            oy = [y] + [self._orbit_sum(y, side, offs) for offs in self.orbits[1:]]
            hh = [np.zeros_like(X) for _ in self.orbits]
            for c in range(self.theta.shape[1]):
                th = self.theta[l, c]
                u = sum(th[o] * oy[o] for o in range(len(th)))
                v = self.w[l, c] / np.prod(side)
                t, s2 = lncosh_derivs(u)
                phi += v * lncosh(u).sum(axis=axes)
                lap += v * self.rho[l, c] * s2.sum(axis=axes)
                for o in range(len(th)):
                    hh[o] += th[o] * v * t
            z = hh[0] + sum(self._orbit_sum(hh[o], side, offs) for o, offs in enumerate(self.orbits) if o > 0)
            grad += self._box(z, side, True)
        return phi, grad.reshape(B, -1), lap


class Potential:
    """The potential of a run: per block the symmetric matrix S of the
    quadratic part (or None) and the rest of the potential, a Dense or a
    Multiscale."""

    def __init__(self, model, arrays):
        self.model = model
        self.n = model["L"] ** model["dim"]
        self.shape = [model["L"]] * model["dim"]
        self.K = max(1, model.get("blocks", 0))
        self.T = model["flow_steps"] * model["epsilon"]
        self.blocks = []
        for k in range(self.K):
            pre = "block%d" % k if self.K > 1 else ""
            if model["potential"] == "multiscale":
                S = self._quadratic(arrays, join(pre, "term0/"))
                p = arrays[join(pre, "term1" if model.get("quadratic") else "")].reshape(-1)
                if p.size != multiscale_size(model):
                    raise ValueError("%d multiscale parameters, the model has %d" % (p.size, multiscale_size(model)))
                C = model["channels"]
                kernels = MULTISCALE_LEVELS * C * len(offset_orbits(model["dim"], MULTISCALE_RADIUS))
                theta = p[:kernels].reshape(MULTISCALE_LEVELS, C, -1)
                w = p[kernels:].reshape(MULTISCALE_LEVELS, C)
                self.blocks.append((S, Multiscale(self.shape, theta, w)))
            else:
                pre = pre + "/" if pre else ""
                S = self._quadratic(arrays, pre)
                self.blocks.append((S, Dense(arrays[pre + "shallow/A"], arrays[pre + "shallow/w"])))

    def _coords(self):
        """The coordinates of every site, row-major (N x d)."""
        return np.array(np.unravel_index(np.arange(self.n), self.shape)).T

    def _quadratic(self, arrays, pre):
        """S-bar = (S + S^T)/2 of the block's quadratic part, or None."""
        if pre + "quadratic/S" in arrays:
            S = arrays[pre + "quadratic/S"]
            return 0.5 * (S + S.T)
        L = np.array(self.shape)
        r = self._coords()
        if pre + "quadratic/spectrum" in arrays:
            # s(r) = (gamma/N) sum_k c(k) cos(k.r), k_a in units of 2 pi/L_a.
            c = arrays[pre + "quadratic/spectrum"].reshape(-1)
            gamma = self.model.get("quadratic_scale") or 1.0
            phase = ((r[:, None, :] * r[None, :, :]) % L / L).sum(axis=2)  # [r, k]
            s = (gamma * np.cos(2 * np.pi * phase) / self.n) @ c
        elif pre + "quadratic/kernel" in arrays:
            s = arrays[pre + "quadratic/kernel"].reshape(-1)
        else:
            return None
        # S-bar_ij = (s(r_j - r_i) + s(r_i - r_j))/2.
        site = lambda d: np.ravel_multi_index(tuple((d % L).T), self.shape)
        fwd = site(r[None, :, :] - r[:, None, :])
        return 0.5 * (s[fwd] + s[fwd.T])

    def block(self, t):
        """The block of flow time t in [0, T]."""
        if not 0 <= t <= self.T:
            raise ValueError("t = %g outside [0, %g]" % (t, self.T))
        return min(self.K - 1, int(math.floor(t * self.K / self.T)))

    def evaluate(self, x, t=None, block=None):
        """phi(x), grad phi(x) and the Laplacian at the rows of x (B x N, or
        N for one configuration), of block `block` or of the block of time t."""
        k = self.block(t) if block is None else block
        S, term = self.blocks[k]
        x = np.asarray(x, dtype=np.float64)
        one = x.ndim == 1
        x = np.atleast_2d(x)
        phi, grad, lap = term.evaluate(x)
        if S is not None:
            Sx = x @ S
            phi = phi + 0.5 * (Sx * x).sum(axis=1)
            grad = grad + Sx
            lap = lap + np.trace(S)
        if one:
            return phi[0], grad[0], lap[0]
        return phi, grad, lap


def load(run_dir):
    """The potential of the run directory run_dir (config.json and
    checkpoint.npz), for the dense and the multiscale potentials
    (--potential dense, --potential multiscale)."""
    with open(os.path.join(run_dir, "config.json")) as f:
        model = json.load(f)["model"]
    if model["potential"] not in ("dense", "multiscale"):
        raise ValueError("%s: the %s potential is neither of the dense and multiscale ones this script evaluates" % (run_dir, model["potential"]))
    ck = np.load(os.path.join(run_dir, "checkpoint.npz"))
    meta = json.loads(bytes(ck["meta"]))
    if "layout" in meta:
        arrays = {b["name"]: ck["params/" + b["name"]] for b in meta["layout"]}
    else:
        flat, arrays, off = ck["params"], {}, 0
        for name, shape in model_layout(model):
            size = int(np.prod(shape))
            arrays[name] = flat[off:off + size].reshape(shape)
            off += size
        if off != flat.size:
            raise ValueError("%s: %d parameters, the model has %d" % (run_dir, flat.size, off))
    return Potential(model, arrays)


def main():
    ap = argparse.ArgumentParser(description="phi, its gradient and its Laplacian of a run's trained potential, as JSON")
    ap.add_argument("run_dir")
    ap.add_argument("--x", required=True, help=".npy file of configurations, B x N (or N)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--t", type=float, default=0.0, help="flow time in [0, T], which selects the block (default 0)")
    g.add_argument("--block", type=int, help="the block, instead of --t")
    a = ap.parse_args()
    try:
        pot = load(a.run_dir)
        k = pot.block(a.t) if a.block is None else a.block
        if not 0 <= k < pot.K:
            raise ValueError("block %d outside 0 ... %d" % (k, pot.K - 1))
        phi, grad, lap = pot.evaluate(np.atleast_2d(np.load(a.x)), block=k)
    except (OSError, KeyError, ValueError) as e:
        ap.exit(1, "checkpoint.py: %s\n" % e)
    json.dump({"block": k, "phi": phi.tolist(), "grad": grad.tolist(), "laplacian": lap.tolist()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
