#!/usr/bin/python3
"""Reference numbers from PyTorch for xgrad's ops: writes tests/fixtures/ops/<case>.json, which
tests/test_pytorch_reference.cpp checks xgrad against (in double, and the forward in float).

Regenerate (Debian 12: `sudo apt-get install python3-torch python3-numpy`, PyTorch 1.13 CPU; use the
system /usr/bin/python3, which sees the Debian packages):

    /usr/bin/python3 scripts/make_fixtures.py

The fixtures are committed; building and running the tests never needs PyTorch.  A new case needs a
function here (registered in CASES) and the same expression, under the same name, in
tests/test_pytorch_reference.cpp.

Each file holds one expression f(x_1, ..., x_n), computed in float64:

    "name", "expression"   the case and f in PyTorch notation, for humans
    "inputs"      [x_1, ..., x_n], the differentiable inputs, in order
    "constants"   {name: tensor}: targets, class indices (integers), masks (0/1), not differentiated
    "output"      f(x)
    "probe"       a fixed random R of the output's shape; the scalar L = sum(f(x) * R)
    "grads"       [dL/dx_1, ..., dL/dx_n]
    "directions"  fixed random v_i of the inputs' shapes
    "hvp"         [dh/dx_1, ...] with h = sum_i sum(dL/dx_i * v_i), the gradients taken with
                  create_graph=True: the Hessian of L times v (a Hessian-vector product)

Every tensor is {"shape": [...], "data": [...]} in row-major order; floats are written with repr, so
they round-trip exactly.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "ops")


def tensor(t):
    t = t.detach()
    if t.dtype == torch.bool or t.dtype in (torch.int64, torch.int32):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [float(v) for v in t.double().reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def randn(*shape, scale=1.0):
    return torch.randn(shape, dtype=torch.float64) * scale


def uniform(*shape, low=0.0, high=1.0):
    return low + (high - low) * torch.rand(shape, dtype=torch.float64)   # shape () for a scalar output


# --- the cases: each returns (expression text, inputs, constants, f(inputs, constants)) ---------------

def reduce_chain():
    x = randn(3, 4, 5)

    def f(x):
        a = torch.logsumexp(x, dim=-1)                  # (3, 4)
        b = torch.var(x, dim=(0, 2))                    # (4)
        c = torch.amax(x, dim=1)                        # (3, 5)
        return a * b + c.mean(dim=-1, keepdim=True)     # (3, 4)

    return ("logsumexp(x,-1) * var(x,(0,2)) + amax(x,1).mean(-1,keepdim)", [x], {}, lambda i, c: f(*i))


def reduce_keepdims():
    x = randn(2, 3, 4)

    def f(x):
        low = torch.amin(x * x, dim=(0, 2), keepdim=True)   # (1, 3, 1)
        total = x.sum(dim=-1, keepdim=True)                  # (2, 3, 1)
        return low * total + x.mean() + torch.var(x, dim=1, unbiased=False, keepdim=True)   # (2, 3, 4) by broadcast

    return ("amin(x*x,(0,2),keepdim) * x.sum(-1,keepdim) + x.mean() + var(x,1,correction=0,keepdim)", [x], {},
            lambda i, c: f(*i))


def elementwise_chain():
    a, b = randn(3, 4, scale=0.8), randn(4)

    def f(a, b):
        positive = b * b + 1.0
        return (torch.sqrt(positive) * torch.exp(-a * a) + torch.log(positive + 1.0) / (1.0 + a.abs())
                - torch.pow(a, 3) * 0.5 + torch.erf(a) * torch.clamp(a, -0.5, 0.5) + torch.pow(positive, a)
                - (a - b) / positive)

    return ("sqrt(b*b+1)*exp(-a*a) + log(b*b+2)/(1+|a|) - a^3/2 + erf(a)*clamp(a,-.5,.5) + (b*b+1)^a - (a-b)/(b*b+1)",
            [a, b], {}, lambda i, c: f(*i))


def activations():
    x = randn(4, 5, scale=2.0)

    def f(x):
        return (F.relu(x) * torch.sigmoid(x) + torch.tanh(x) * F.leaky_relu(x, 0.1) + F.softplus(x, beta=2.0)
                + F.gelu(x) * 0.5 + F.gelu(x, approximate="tanh") * torch.tanh(x))

    return ("relu(x)*sigmoid(x) + tanh(x)*leaky_relu(x,.1) + softplus(x,beta=2) + gelu(x)/2 + gelu_tanh(x)*tanh(x)",
            [x], {}, lambda i, c: f(*i))


def matmul_broadcast():
    a, b = randn(2, 1, 3, 4), randn(5, 4, 2)
    return ("tanh(a @ b), a (2,1,3,4), b (5,4,2)", [a, b], {}, lambda i, c: torch.tanh(i[0] @ i[1]))


def matmul_transposes():
    a, at, b, bt = randn(3, 4), randn(4, 3), randn(4, 5), randn(5, 4)

    def f(a, at, b, bt):
        return (a @ b) * (at.T @ b) + (a @ bt.T) * (at.T @ bt.T)

    return ("(a@b)*(at^T@b) + (a@bt^T)*(at^T@bt^T)", [a, at, b, bt], {}, lambda i, c: f(*i))


def matmul_1d():
    v, m, batch, w = randn(4), randn(3, 4), randn(2, 4, 3), randn(4)

    def f(v, m, batch, w):
        return torch.cat([m @ v, (v @ batch).flatten(), (v @ w).reshape(1)]) * torch.sigmoid(m @ w).sum()

    return ("cat(m@v, flatten(v@batch), v@w) * sum(sigmoid(m@w))", [v, m, batch, w], {}, lambda i, c: f(*i))


def mlp_cross_entropy():
    x, w1, b1, w2, b2 = randn(6, 4), randn(5, 4, scale=0.7), randn(5, scale=0.1), randn(3, 5, scale=0.7), randn(3, scale=0.1)
    target = torch.tensor([0, 2, 1, 1, 0, 2])

    def f(inputs, constants):
        x, w1, b1, w2, b2 = inputs
        hidden = F.gelu(x @ w1.T + b1)
        logits = hidden @ w2.T + b2
        return F.cross_entropy(logits, constants["target"], label_smoothing=0.1)

    return ("cross_entropy(gelu(x@w1^T+b1)@w2^T+b2, target, label_smoothing=0.1)", [x, w1, b1, w2, b2],
            {"target": target}, f)


def attention_softmax():
    q, k, v = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3)
    return ("softmax(q@k^T/2, -1) @ v", [q, k, v], {},
            lambda i, c: torch.softmax(i[0] @ i[1].transpose(-1, -2) * 0.5, dim=-1) @ i[2])


def log_softmax_logsumexp():
    x = randn(3, 6)
    return ("log_softmax(x,0)*softmax(x,-1) + logsumexp(x,(0,1))", [x], {},
            lambda i, c: F.log_softmax(i[0], dim=0) * F.softmax(i[0], dim=-1) + torch.logsumexp(i[0], dim=(0, 1)))


def regression_losses():
    x, t = randn(3, 4), randn(3, 4)

    def f(x, t):
        return (F.mse_loss(torch.tanh(x), t) + 0.1 * F.l1_loss(x, t, reduction="sum")
                + F.huber_loss(x, t, reduction="none", delta=0.5))

    return ("mse(tanh(x),t) + 0.1*l1(x,t,sum) + huber(x,t,none,delta=.5)", [x, t], {}, lambda i, c: f(*i))


def bce_with_logits():
    x = randn(3, 4, scale=2.0)
    target, pos_weight = uniform(3, 4), uniform(4, low=0.5, high=3.0)
    return ("bce_with_logits(x, target, none, pos_weight) + bce_with_logits(x*x, target)", [x],
            {"target": target, "pos_weight": pos_weight},
            lambda i, c: F.binary_cross_entropy_with_logits(i[0], c["target"], reduction="none", pos_weight=c["pos_weight"])
            + F.binary_cross_entropy_with_logits(i[0] * i[0], c["target"]))


def cross_entropy_variants():
    logits = randn(4, 5, scale=1.5)
    target = torch.tensor([3, -100, 0, 4])

    def f(inputs, constants):
        (z,) = inputs
        t = constants["target"]
        return (F.cross_entropy(z, t, reduction="none", label_smoothing=0.2)
                + 0.1 * F.cross_entropy(z, t, reduction="sum")
                + F.nll_loss(F.log_softmax(z, dim=1), t))

    return ("ce(z,t,none,smoothing=.2) + 0.1*ce(z,t,sum) + nll(log_softmax(z,1),t), t with ignore_index -100",
            [logits], {"target": target}, f)


def cross_entropy_spatial():
    logits = randn(2, 3, 2, 2, scale=1.5)
    probs = torch.softmax(randn(2, 3, 2, 2), dim=1)
    labels = torch.tensor([[[0, 2], [1, -100]], [[2, 2], [0, 1]]])

    def f(inputs, constants):
        (z,) = inputs
        return (F.cross_entropy(z, constants["probs"], label_smoothing=0.1)
                + 0.5 * F.cross_entropy(z, constants["labels"])
                + F.cross_entropy(z, constants["labels"], reduction="none", label_smoothing=0.3))

    return ("ce(z,soft,smoothing=.1) + ce(z,labels)/2 + ce(z,labels,none,smoothing=.3), z (2,3,2,2)", [logits],
            {"probs": probs, "labels": labels}, f)


def shape_chain():
    x, b = randn(2, 3, 4), randn(7)
    select = torch.tensor([3, 0, 0, 2])
    gather_index = torch.tensor([[0, 3], [1, 1], [2, 0], [3, 3]])
    mask = torch.tensor([True, False, False, True])
    condition = torch.tensor([[True], [False], [True], [True]])

    def f(inputs, constants):
        x, b = inputs
        y = x.reshape(4, -1).transpose(0, 1).narrow(0, 1, 4)              # (4, 4)
        y = y.index_select(1, constants["select"])                         # (4, 4)
        g = y.gather(1, constants["gather_index"])                         # (4, 2)
        z = torch.cat([g, y.masked_fill(constants["mask"], 0.5), y.narrow(1, 2, 1)], dim=1)   # (4, 7)
        s = torch.stack([z, z * z], dim=0)                                 # (2, 4, 7)
        w = torch.where(constants["condition"], s, b * s)                  # condition (4, 1), b (7)
        return torch.tanh(w).permute(2, 0, 1).unsqueeze(1).squeeze(1).flatten(1)   # (7, 8)

    return ("tanh(where(cond, stack(cat(gather, masked_fill, narrow)), b*s)).permute(...).flatten(1)", [x, b],
            {"select": select, "gather_index": gather_index, "mask": mask, "condition": condition}, f)


def cross_entropy_weighted():
    logits = randn(5, 4, scale=1.5)
    spatial = randn(2, 4, 3, scale=1.5)
    target = torch.tensor([3, -100, 0, 2, 3])
    other_target = torch.tensor([3, 1, 0, 2, 3])   # for ignore_index 3 and 0
    labels = torch.tensor([[0, 1, -100], [3, 3, 2]])
    probs = torch.softmax(randn(2, 4, 3), dim=1)
    weight = uniform(4, low=0.2, high=2.0)

    def f(inputs, constants):
        z, s = inputs
        t, u, w = constants["target"], constants["other_target"], constants["weight"]
        return (F.cross_entropy(z, t, weight=w, reduction="none", label_smoothing=0.2)
                + F.cross_entropy(z, t, weight=w, label_smoothing=0.3)
                + 0.1 * F.cross_entropy(z, t, weight=w, reduction="sum", label_smoothing=0.1)
                + F.cross_entropy(z, u, weight=w, ignore_index=3)
                + F.nll_loss(F.log_softmax(z, dim=1), t, weight=w)
                + 0.5 * F.nll_loss(F.log_softmax(z, dim=1), u, weight=w, reduction="sum", ignore_index=0)
                + F.cross_entropy(s, constants["labels"], weight=w, label_smoothing=0.25)
                + F.cross_entropy(s, constants["probs"], weight=w, label_smoothing=0.1))

    return ("ce(z,t,w,none,smoothing=.2) + ce(z,t,w,smoothing=.3) + 0.1*ce(z,t,w,sum,smoothing=.1) "
            "+ ce(z,u,w,ignore_index=3) + nll(log_softmax(z,1),t,w) + 0.5*nll(...,u,w,sum,ignore_index=0) "
            "+ ce(s,labels,w,smoothing=.25) + ce(s,soft,w,smoothing=.1), class weights w, t with ignore_index -100",
            [logits, spatial], {"target": target, "other_target": other_target, "labels": labels, "probs": probs,
             "weight": weight}, f)


CASES = [reduce_chain, reduce_keepdims, elementwise_chain, activations, matmul_broadcast, matmul_transposes,
         matmul_1d, mlp_cross_entropy, attention_softmax, log_softmax_logsumexp, regression_losses,
         bce_with_logits, cross_entropy_variants, cross_entropy_spatial, shape_chain, cross_entropy_weighted]


def make(case, seed):
    torch.manual_seed(seed)
    expression, inputs, constants, f = case()
    inputs = [x.clone().requires_grad_(True) for x in inputs]
    output = f(inputs, constants)
    probe = uniform(*output.shape, low=0.5, high=1.5)
    directions = [uniform(*x.shape, low=0.5, high=1.5) for x in inputs]
    loss = (output * probe).sum()
    grads = torch.autograd.grad(loss, inputs, create_graph=True, allow_unused=True)
    grads = [g if g is not None else torch.zeros_like(x) for g, x in zip(grads, inputs)]
    h = sum((g * v).sum() for g, v in zip(grads, directions))
    if h.requires_grad:
        hvp = torch.autograd.grad(h, inputs, allow_unused=True)
        hvp = [g if g is not None else torch.zeros_like(x) for g, x in zip(hvp, inputs)]
    else:
        hvp = [torch.zeros_like(x) for x in inputs]
    return {
        "name": case.__name__,
        "expression": expression,
        "generator": "PyTorch " + torch.__version__ + ", float64",
        "inputs": [tensor(x) for x in inputs],
        "constants": {name: tensor(c) for name, c in constants.items()},
        "output": tensor(output),
        "probe": tensor(probe),
        "grads": [tensor(g) for g in grads],
        "directions": [tensor(v) for v in directions],
        "hvp": [tensor(g) for g in hvp],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for seed, case in enumerate(CASES):
        fixture = make(case, 1000 + seed)
        path = os.path.join(OUT, case.__name__ + ".json")
        with open(path, "w") as out:
            json.dump(fixture, out, separators=(",", ":"))
            out.write("\n")
        print(f"{path}: output {fixture['output']['shape']}, {len(fixture['inputs'])} inputs")


if __name__ == "__main__":
    main()
