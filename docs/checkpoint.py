#!/usr/bin/env python3
"""The trained potential of an isingflow run, in NumPy.

A run directory written by `isingflow` (config.json and checkpoint.npz)
holds the flow's potential: for the dense model (the default) the time
t in [0, T], T = flow_steps * epsilon, selects block k of K, the one of
t in [k T/K, (k+1) T/K) (t = T: the last), and

    phi_k(x) = 1/2 x.S_k.x + sum_j w_kj ln cosh(a_kj . x)

with S_k the symmetrised quadratic part (on a torus circulant, from its
spectrum or its kernel) and a_kj the rows of A_k. x is a configuration of
the N = L^d sites, in the lattice's row-major order (the last axis
fastest), or a batch of them, one per row.

As a program, it prints phi, its gradient and its Laplacian at the rows of
an .npy file as JSON:

    python3 docs/checkpoint.py RUN_DIR --t 0.3 --x x.npy

As a module:

    import checkpoint
    pot = checkpoint.load("runs/L16_T2.269000_...")
    phi, grad, lap = pot.evaluate(x, t=0.3)

The parameters are the named arrays of checkpoint.npz,
ck["params/block3/shallow/A"] (H x N) and so on, listed with their
offsets under "layout" in json.loads(bytes(ck["meta"])); checkpoints
written before the names existed hold one flat array "params", which
load() splits the same way. See docs/isingflow.md, "Using a trained flow
outside Go".
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


def model_layout(model):
    """The layout [(name, shape)] of the parameters of the dense model of
    config.json's "model", in the order of the flat vector: the names the
    Go code gives them (flow.Layout), for checkpoints without names."""
    n = model["L"] ** model["dim"]
    shape = [model["L"]] * model["dim"]
    block = []
    if model.get("quadratic"):
        if model.get("open"):
            block.append(("quadratic/S", [n, n]))
        elif model.get("quadratic_basis") == "spectral":
            block.append(("quadratic/spectrum", shape))
        else:
            block.append(("quadratic/kernel", shape))
    block += [("shallow/A", [model["hidden"], n]), ("shallow/w", [model["hidden"]])]
    blocks = max(1, model.get("blocks", 0))
    if blocks == 1:
        return block
    return [("block%d/%s" % (k, name), s) for k in range(blocks) for name, s in block]


class Potential:
    """The potential of a run: per block the symmetric matrix S (or None)
    and the ln cosh layer A, w."""

    def __init__(self, model, arrays):
        self.model = model
        self.n = model["L"] ** model["dim"]
        self.shape = [model["L"]] * model["dim"]
        self.K = max(1, model.get("blocks", 0))
        self.T = model["flow_steps"] * model["epsilon"]
        self.blocks = []
        for k in range(self.K):
            pre = "block%d/" % k if self.K > 1 else ""
            S = self._quadratic(arrays, pre)
            A, w = arrays[pre + "shallow/A"], arrays[pre + "shallow/w"]
            self.blocks.append((S, A, w))

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
        S, A, w = self.blocks[k]
        x = np.asarray(x, dtype=np.float64)
        one = x.ndim == 1
        x = np.atleast_2d(x)
        u = x @ A.T
        th = np.tanh(u)
        phi = lncosh(u) @ w
        grad = (th * w) @ A
        lap = ((1 - th * th) * w) @ (A * A).sum(axis=1)
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
    checkpoint.npz), for the dense potential (--potential dense)."""
    with open(os.path.join(run_dir, "config.json")) as f:
        model = json.load(f)["model"]
    if model["potential"] != "dense":
        raise ValueError("%s: the %s potential is not the dense one this script evaluates" % (run_dir, model["potential"]))
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
