#!/usr/bin/python3
"""Reference numbers from PyTorch for xgrad's optimizers, schedulers and gradient clipping: writes
tests/fixtures/optim/optim.json.

Regenerate (Debian 12: `sudo apt-get install python3-torch python3-numpy`, PyTorch 1.13 CPU):

    /usr/bin/python3 scripts/make_optim_fixtures.py

The fixture is committed; building and running the tests never needs PyTorch.  It holds:

    "params":     two initial parameters, {"shape": [...], "data": [...]} (row-major, float64)
    "grads":      for each step, the gradient set by hand on each parameter (null: the parameter has no
                  gradient on that step and is skipped, as torch skips p.grad is None)
    "optimizers": cases {"name", "optimizer", "groups": [{"params": [indices], "options": {...}}],
                  "trajectory": the parameters after each step}
    "schedulers": cases {"name", "scheduler", "args", "base_lrs", "metrics" (ReduceLROnPlateau),
                  "lrs": get_last_lr() of every group after construction, then after each step()}
    "clip":       cases {"max_norm", "norm_type", "grads" before, "total_norm", "clipped" grads after}

Everything is computed in float64.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "optim", "optim.json")
torch.set_default_dtype(torch.float64)
STEPS = 6


def tensor(t):
    return {"shape": list(t.shape), "data": t.detach().double().reshape(-1).tolist()}


def number(x):
    return "inf" if math.isinf(x) else x


generator = torch.Generator().manual_seed(1313)
initial = [torch.randn(2, 3, generator=generator), torch.randn(3, generator=generator)]
# Gradients that change sign and shrink on some steps (so that amsgrad's running maximum matters).
grads = []
for step in range(STEPS):
    scale = 1.0 if step % 3 != 2 else 0.1
    grads.append([torch.randn(2, 3, generator=generator) * scale, torch.randn(3, generator=generator) * scale * 2])
# The second parameter has no gradient on step 3 (index 2): per-parameter step counts must then differ.
SKIP = {(2, 1)}


def step_grads(step):
    return [None if (step, i) in SKIP else g for i, g in enumerate(grads[step])]


OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}

# (name, optimizer, [(param indices, options)], skip steps?)
CASES = [
    ("sgd", "SGD", [([0, 1], {"lr": 0.1})]),
    ("sgd_momentum_dampening_decay", "SGD",
     [([0, 1], {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01})]),
    ("sgd_nesterov", "SGD", [([0, 1], {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02})]),
    ("adam", "Adam", [([0, 1], {"lr": 0.01})]),
    ("adam_amsgrad_decay", "Adam",
     [([0, 1], {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True})]),
    ("adamw", "AdamW", [([0, 1], {"lr": 0.01, "weight_decay": 0.1})]),
    ("adamw_amsgrad", "AdamW", [([0, 1], {"lr": 0.03, "betas": (0.7, 0.9), "weight_decay": 0.05, "amsgrad": True})]),
    ("rmsprop", "RMSprop", [([0, 1], {"lr": 0.01, "alpha": 0.9})]),
    ("rmsprop_centered_momentum", "RMSprop",
     [([0, 1], {"lr": 0.01, "alpha": 0.95, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.5, "centered": True})]),
    ("adagrad", "Adagrad", [([0, 1], {"lr": 0.1})]),
    ("adagrad_decay_accumulator", "Adagrad",
     [([0, 1], {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1, "weight_decay": 0.01, "eps": 1e-10})]),
    # Param groups with options of their own.
    ("sgd_groups", "SGD", [([0], {"lr": 0.1, "momentum": 0.9}), ([1], {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1})]),
    ("adam_groups", "Adam",
     [([0], {"lr": 0.01, "weight_decay": 0.1}), ([1], {"lr": 0.05, "betas": (0.5, 0.9), "amsgrad": True})]),
]


def run_optimizer(name, kind, groups):
    params = [p.clone().requires_grad_(True) for p in initial]
    # The first group's options are also the constructor's defaults: torch's Adagrad reads
    # initial_accumulator_value from the constructor only, never from a group.
    optimizer = OPTIMIZERS[kind]([{"params": [params[i] for i in indices], **options} for indices, options in groups],
                                 **groups[0][1])
    trajectory = []
    for step in range(STEPS):
        for p, g in zip(params, step_grads(step)):
            p.grad = None if g is None else g.clone()
        optimizer.step()
        trajectory.append([tensor(p) for p in params])
    # Every group's options as torch resolved them (a key a group leaves out takes the constructor's value).
    options = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()
                if k != "params" and isinstance(v, (bool, int, float, tuple))} for group in optimizer.param_groups]
    return {"name": name, "optimizer": kind,
            "groups": [{"params": indices, "options": o} for (indices, _), o in zip(groups, options)],
            "trajectory": trajectory}


SCHEDULERS = [
    ("step_lr", "StepLR", {"step_size": 3, "gamma": 0.5}),
    ("multi_step_lr", "MultiStepLR", {"milestones": [2, 5, 5, 8], "gamma": 0.1}),
    ("exponential_lr", "ExponentialLR", {"gamma": 0.9}),
    ("cosine_annealing_lr", "CosineAnnealingLR", {"T_max": 5, "eta_min": 0.001}),
    ("linear_lr_warmup", "LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 4}),
    ("linear_lr_decay", "LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 5}),
    ("plateau_min", "ReduceLROnPlateau",
     {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "cooldown": 1, "min_lr": 0.008}),
    ("plateau_max", "ReduceLROnPlateau", {"mode": "max", "factor": 0.1, "patience": 1}),
    # Reductions smaller than torch's eps (1e-8) are not applied.
    ("plateau_tiny_lr", "ReduceLROnPlateau", {"mode": "min", "factor": 0.5, "patience": 0}),
    # OneCycleLR over all SCHEDULER_STEPS steps; "momentums" holds the cycled SGD momentum
    ("one_cycle_cos", "OneCycleLR", {"max_lr": 0.5, "total_steps": 14}),
    ("one_cycle_linear_three_phase", "OneCycleLR",
     {"max_lr": 0.3, "total_steps": 14, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0,
      "final_div_factor": 100.0, "three_phase": True, "base_momentum": 0.8, "max_momentum": 0.9}),
    ("one_cycle_no_momentum", "OneCycleLR",
     {"max_lr": 0.2, "total_steps": 20, "pct_start": 0.4, "cycle_momentum": False}),
    # one max_lr per parameter group
    ("one_cycle_per_group", "OneCycleLR", {"max_lr": [0.5, 0.05], "total_steps": 14, "three_phase": True}),
    # SequentialLR: the schedulers as [kind, args], built in order on the optimizer, as a user would
    ("sequential_warmup_cosine", "SequentialLR",
     {"schedulers": [["LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 3}],
                     ["CosineAnnealingLR", {"T_max": 8, "eta_min": 0.001}]],
      "milestones": [3]}),
    ("sequential_three", "SequentialLR",
     {"schedulers": [["ExponentialLR", {"gamma": 0.8}], ["LinearLR", {"start_factor": 0.5, "total_iters": 3}],
                     ["StepLR", {"step_size": 2, "gamma": 0.5}]],
      "milestones": [2, 6]}),
]
SCHEDULER_STEPS = 14
PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.895, 0.9, 0.92, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4]
PLATEAU_MAX_METRICS = [0.5, 0.6, 0.6, 0.7, 0.69, 0.7, 0.71, 0.7, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9]


def run_scheduler(name, kind, args):
    base_lrs = [1e-8, 4e-8] if name == "plateau_tiny_lr" else [0.1, 0.02]
    params = [p.clone().requires_grad_(True) for p in initial]
    optimizer = torch.optim.SGD([{"params": [params[0]], "lr": base_lrs[0]}, {"params": [params[1]], "lr": base_lrs[1]}])
    if kind == "SequentialLR":
        parts = [getattr(torch.optim.lr_scheduler, k)(optimizer, **a) for k, a in args["schedulers"]]
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, parts, args["milestones"])
    else:
        scheduler = getattr(torch.optim.lr_scheduler, kind)(optimizer, **args)
    case = {"name": name, "scheduler": kind, "args": args, "base_lrs": base_lrs}
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    momentums = [[g["momentum"] for g in optimizer.param_groups]]
    metrics = PLATEAU_MAX_METRICS if args.get("mode") == "max" else PLATEAU_METRICS
    for step in range(SCHEDULER_STEPS):
        optimizer.step()
        if kind == "ReduceLROnPlateau":
            scheduler.step(metrics[step])
        else:
            scheduler.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
        momentums.append([g["momentum"] for g in optimizer.param_groups])
    if kind == "OneCycleLR":
        case["momentums"] = momentums
    if kind == "ReduceLROnPlateau":
        case["metrics"] = metrics
    case["lrs"] = lrs
    return case


def run_clip(max_norm, norm_type, scale):
    params = [p.clone().requires_grad_(True) for p in initial]
    for p, g in zip(params, grads[0]):
        p.grad = g.clone() * scale
    before = [tensor(p.grad) for p in params]
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    return {"max_norm": max_norm, "norm_type": number(norm_type), "grads": before, "total_norm": total.item(),
            "clipped": [tensor(p.grad) for p in params]}


fixture = {
    "params": [tensor(p) for p in initial],
    "grads": [[None if g is None else tensor(g) for g in step_grads(s)] for s in range(STEPS)],
    "optimizers": [run_optimizer(*case) for case in CASES],
    "schedulers": [run_scheduler(*case) for case in SCHEDULERS],
    "clip": [run_clip(1.0, 2.0, 1.0), run_clip(0.5, 1.0, 1.0), run_clip(0.3, math.inf, 1.0),
             run_clip(100.0, 2.0, 1.0), run_clip(1.0, 3.0, 0.01)],
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as out:
    json.dump(fixture, out, indent=1)
    out.write("\n")
print("wrote", os.path.normpath(OUT))
