#!/usr/bin/env python3
"""torch_ref.py: an independent PyTorch (float64, CPU) implementation of one
training epoch of motsim's models (docs/model.md sections 3-6, full batch),
written as a researcher would: every quantity vectorized over the samples
with einsum, the gradients from autograd, nothing cached between epochs. It
shares no code with the C trainer; it exists only for the benchmark
(bench/run.sh) and for tests/torch_ref.sh, which check that both compute the
same epoch. It is not a second simulator: no recording, no mini-batches.

  torch_ref.py check RUNDIR...   RUNDIR: a `mot run` of one epoch (T = 1) with
                                  save_routing = true. From its data, initial
                                  parameters and routing, one epoch here must
                                  give its *_final.npy to --rtol (1e-10), and
                                  the change of each group to --step-rtol.
  torch_ref.py time DATADIR      DATADIR: a `mot gen` output. Times epochs of
                                  each stage for each --models kind (median of
                                  --reps after a warm-up, --threads threads).
Exit status: 0 agreement (or timings printed), 1 disagreement, 2 bad input.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

GROUP_THETA, GROUP_W, GROUP_ROUTER = 1, 2, 4


def load_config(path):
    with open(path) as fp:
        j = json.load(fp)
    cfg = {}
    for section in j.values():  # {"data": {...}, "model": {...}, ...}
        if isinstance(section, dict):
            cfg.update(section)
    return cfg


def layout(cfg):
    """(E, A, gated) of docs/model.md section 2."""
    kind = cfg["model"]
    E = cfg["heads"] if kind == "single" else cfg["M"]
    A = {"mot": E, "single": E, "moe_noattn": 0, "moe_ffn": 1}[kind]
    return E, A, kind != "single"


def stage_of(cfg, t):
    return 1 if t < cfg["T1"] else 2 if t < cfg["T2"] else 3


def groups_at(cfg, t):
    """The groups the schedule trains at epoch t (section 6.2)."""
    E, A, gated = layout(cfg)
    if cfg["schedule"] == "joint":
        g = GROUP_THETA | GROUP_W | GROUP_ROUTER
    else:
        g = {1: GROUP_THETA | GROUP_ROUTER, 2: GROUP_W | GROUP_ROUTER,
             3: GROUP_THETA | GROUP_ROUTER}[stage_of(cfg, t)]
        if stage_of(cfg, t) == 3 and cfg["model"] == "single" and cfg["single_stage3"] == "all":
            g |= GROUP_W
    if not A:
        g &= ~GROUP_W
    if not gated:
        g &= ~GROUP_ROUTER
    return g


def loss_fn(kind, y, F):
    if kind == "squared":
        return 0.5 * (y - F) ** 2
    return torch.logaddexp(torch.zeros_like(F), -y * F)  # log(1 + exp(-y F)), stably


def epoch(cfg, X, y, P, groups, route=None, gen=None):
    """One full-batch step. X (n, L, d), y (n,), P: dict of theta (E, d),
    W (A, d, d) or None, w (E, d) or None. route (n,) int64 or None (fresh
    exploration noise from gen). Returns the updated parameters and the
    routing used."""
    E, A, gated = layout(cfg)
    n, L, d = X.shape
    theta = P["theta"].clone().requires_grad_(bool(groups & GROUP_THETA))
    W = None if P["W"] is None else P["W"].clone().requires_grad_(bool(groups & GROUP_W))
    w = None if P["w"] is None else P["w"].clone().requires_grad_(bool(groups & GROUP_ROUTER))
    x1 = X[:, 0, :]
    # Attention (3.1): u_l = x_1^T W_a x_l, s = softmax(u), z = sum_l s_l x_l.
    if W is None:
        s = torch.full((n, 1, L), 1.0 / L, dtype=X.dtype)
    else:
        q = torch.einsum("ni,aij->naj", x1, W)                 # (n, A, d)
        s = torch.softmax(torch.einsum("naj,nlj->nal", q, X), dim=-1)
    z = torch.einsum("nal,nld->nad", s, X)                     # (n, views, d)
    if z.shape[1] == E:                                        # own view per expert
        f = torch.einsum("ned,ed->ne", z, theta)
    else:                                                      # one view for all
        f = z[:, 0, :] @ theta.T
    loss_kind = cfg["loss"]
    if not gated:                                              # single: F = sum_h f_h
        lk = loss_fn(loss_kind, y, f.sum(dim=1))
        J = lk.mean()
        wanted = [p for p, g in ((theta, GROUP_THETA), (W, GROUP_W)) if groups & g]
        grads = dict(zip([g for g in (GROUP_THETA, GROUP_W) if groups & g],
                         torch.autograd.grad(J, wanted)))
        route = None
    else:
        r = x1 if cfg["router_input"] == "query" else X.sum(dim=1)
        h = r @ w.T
        pi = torch.softmax(h, dim=-1)
        if route is None:                                      # section 3.2: noisy top-1
            noise = cfg["lambda_r"] * torch.rand((n, E), dtype=X.dtype, generator=gen)
            route = torch.argmax(h.detach() + noise, dim=1)
        idx = torch.arange(n)
        fm = f[idx, route]
        a = pi[idx, route] if cfg["gate"] == "switch" else torch.ones_like(fm)
        lk = loss_fn(loss_kind, y, a * fm)
        count = torch.bincount(route, minlength=E).to(X.dtype)
        D = count if cfg["grad_norm"] == "expert" else torch.full_like(count, n)
        J_theta = (lk / D[route]).sum()
        J_W = (lk / n).sum() if A == 1 else J_theta            # moe_ffn's shared W: / B
        if cfg["gate"] == "compete":
            J_r = (pi * loss_fn(loss_kind, y[:, None], f)).sum(dim=1).mean()
        else:
            J_r = lk.mean()
        grads = {}
        todo = [(GROUP_THETA, J_theta, theta), (GROUP_W, J_W, W), (GROUP_ROUTER, J_r, w)]
        todo = [t for t in todo if groups & t[0]]
        for i, (g, J, p) in enumerate(todo):
            grads[g] = torch.autograd.grad(J, [p], retain_graph=i + 1 < len(todo))[0]
    scale = cfg["lr_scale"]
    out = {k: (None if v is None else v.detach().clone()) for k, v in P.items()}
    with torch.no_grad():
        if groups & GROUP_THETA:
            out["theta"] = P["theta"] - scale * cfg["eta"] * grads[GROUP_THETA]
        if groups & GROUP_W:
            out["W"] = P["W"] - scale * cfg["eta_W"] * grads[GROUP_W]
        if groups & GROUP_ROUTER:
            out["w"] = P["w"] - scale * cfg["eta_r"] * grads[GROUP_ROUTER]
    return out, route


def npy(dirname, name):
    path = os.path.join(dirname, name)
    return torch.from_numpy(np.load(path)) if os.path.exists(path) else None


def load_data(dirname):
    X = npy(dirname, "train_X.npy")
    y = npy(dirname, "train_y.npy")
    if X is None or y is None:
        sys.exit("torch_ref.py: %s has no train_X.npy/train_y.npy" % dirname)
    return X.to(torch.float64), y.to(torch.float64)


def rel_err(a, b):
    scale = float(b.abs().max()) if b.numel() else 0.0
    diff = float((a - b).abs().max()) if b.numel() else 0.0
    return diff / scale if scale > 0 else diff


def check(args):
    bad = 0
    for run in args.runs:
        cfg = load_config(os.path.join(run, "config.json"))
        X, y = load_data(run)
        E, A, gated = layout(cfg)
        P = {"theta": npy(run, "theta_init.npy"), "W": npy(run, "W_init.npy") if A else None,
             "w": npy(run, "router_init.npy") if gated else None}
        want = {"theta": npy(run, "theta_final.npy"), "W": npy(run, "W_final.npy") if A else None,
                "w": npy(run, "router_final.npy") if gated else None}
        route = None
        if gated:
            routing = npy(run, "routing.npy")
            if routing is None:
                sys.exit("torch_ref.py: %s has no routing.npy (run with save_routing = true)" % run)
            route = routing[0].to(torch.int64)
        groups = groups_at(cfg, 0)
        got, _ = epoch(cfg, X, y, P, groups, route=route)
        report = []
        for name, g in (("theta", GROUP_THETA), ("W", GROUP_W), ("w", GROUP_ROUTER)):
            if want[name] is None:
                continue
            err = rel_err(got[name], want[name])
            moved = not torch.equal(P[name], want[name])
            # the step itself (the gradient times the rate), where a wrong
            # gradient shows even when it is small beside the parameters
            step = rel_err(got[name] - P[name], want[name] - P[name]) if moved else 0.0
            ok = err <= args.rtol and step <= args.step_rtol and moved == bool(groups & g)
            bad += not ok
            report.append("%s %.1e (step %.1e)%s%s" % (name, err, step, "" if moved else " frozen",
                                                       "" if ok else " FAIL"))
        print("%s: model %s stage %d gate %s loss %s: %s" % (
            run, cfg["model"], stage_of(cfg, 0), cfg["gate"], cfg["loss"], ", ".join(report)))
    return 1 if bad else 0


def time_kind(cfg, X, y, reps, gen):
    """Median seconds per epoch of each stage: a warm-up epoch, then `reps`
    timed epochs, starting from theta ~ N(0, sigma0^2), W = 0, w = 0."""
    E, A, gated = layout(cfg)
    d = X.shape[2]
    P = {"theta": cfg["sigma0"] * torch.randn((E, d), dtype=torch.float64, generator=gen),
         "W": torch.zeros((A, d, d), dtype=torch.float64) if A else None,
         "w": torch.zeros((E, d), dtype=torch.float64) if gated else None}
    out = {}
    for stage, t in ((1, 0), (2, cfg["T1"]), (3, cfg["T2"])):
        if stage_of(cfg, t) != stage or t >= cfg["T"]:
            continue
        groups = groups_at(cfg, t)
        P, _ = epoch(cfg, X, y, P, groups, gen=gen)  # warm-up
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            P, _ = epoch(cfg, X, y, P, groups, gen=gen)
            times.append(time.perf_counter() - t0)
        out[stage] = sorted(times)[len(times) // 2]
    return out


def time_cmd(args):
    cfg = load_config(os.path.join(args.datadir, "config.json"))
    X, y = load_data(args.datadir)
    gen = torch.Generator().manual_seed(1)
    for kind in args.models.split(","):
        c = dict(cfg, model=kind)
        for stage, sec in sorted(time_kind(c, X, y, args.reps, gen).items()):
            print("torch %s %d %.6f" % (kind, stage, 1e3 * sec), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="one epoch from a T = 1 run's start; compare with its end")
    c.add_argument("runs", nargs="+")
    c.add_argument("--rtol", type=float, default=1e-10,
                   help="largest max|torch - C| / max|C| of an updated group (1e-10)")
    c.add_argument("--step-rtol", type=float, default=1e-8,
                   help="the same for the change of a group over the epoch (1e-8)")
    t = sub.add_parser("time", help="time epochs of each stage on a `mot gen` data set")
    t.add_argument("datadir")
    t.add_argument("--models", default="mot,single,moe_noattn,moe_ffn")
    t.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("torch %s, %d thread(s), float64, CPU" % (torch.__version__, torch.get_num_threads()),
          file=sys.stderr)
    return check(args) if args.cmd == "check" else time_cmd(args)


if __name__ == "__main__":
    sys.exit(main())
