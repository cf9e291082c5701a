#!/usr/bin/python3
"""Reference numbers from PyTorch for xgrad's layers: writes tests/fixtures/layers/<case>.json.

Regenerate (Debian 12: `sudo apt-get install python3-torch python3-numpy`, PyTorch 1.13 CPU):

    /usr/bin/python3 scripts/make_layer_fixtures.py

The fixtures are committed; building and running the tests never needs PyTorch.  Each file holds one case:

    "state":   the module's state_dict (parameters and buffers), loaded by the C++ test with load_state_dict
    "inputs":  the input tensors (float inputs, integer indices, boolean masks as 0/1)
    "output":  the module's output
    "probe":   a fixed random tensor R of the output's shape; the scalar loss is sum(output * R)
               (the MLP case uses cross_entropy(output, target) instead)
    "grads":   d loss / d input and d loss / d every parameter, by state_dict name ("input.<name>" for inputs)
    "state_after": buffers after the forward pass (batch norm's running statistics, train mode)

Every tensor is {"shape": [...], "data": [...]} in row-major order.  All numbers are computed in float64.
New cases go at the end of main(), so that the random draws of the earlier ones stay the same.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "layers")


def tensor(t):
    t = t.detach()
    if t.dtype == torch.bool:
        data = [int(v) for v in t.reshape(-1).tolist()]
    elif t.dtype in (torch.int64, torch.int32):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = t.double().reshape(-1).tolist()   # repr: exact round trip
    return {"shape": list(t.shape), "data": data}


def randomise(module, generator):
    """Every parameter (and batch norm's buffers) gets a random non-default value, so that a wrong layout
    or a forgotten term shows."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.5)
            if name.endswith(("norm1.weight", "norm2.weight", "norm3.weight", "norm.weight")):
                p.add_(1.0)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=generator, dtype=b.dtype) * 0.5)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=generator, dtype=b.dtype) + 0.5)


def write_case(name, module, inputs, run, loss_of=None, extra=None):
    """inputs: dict name -> tensor (float tensors get requires_grad).  run(module, inputs) -> output."""
    state = {k: tensor(v) for k, v in module.state_dict().items()}
    for v in inputs.values():
        if v.dtype.is_floating_point:
            v.requires_grad_(True)
    output = run(module, inputs)
    generator = torch.Generator().manual_seed(sum(map(ord, name)))
    case = {"state": state, "inputs": {k: tensor(v) for k, v in inputs.items()}, "output": tensor(output)}
    if loss_of is None:
        probe = torch.randn(output.shape, generator=generator, dtype=torch.float64)
        loss = (output * probe).sum()
        case["probe"] = tensor(probe)
    else:
        loss = loss_of(output)
    case["loss"] = float(loss)
    loss.backward()
    grads = {}
    for k, v in inputs.items():
        if v.dtype.is_floating_point:
            grads["input." + k] = tensor(v.grad)
    for k, p in module.named_parameters():
        grads[k] = tensor(p.grad)
    case["grads"] = grads
    buffers = dict(module.named_buffers())
    if buffers:
        case["state_after"] = {k: tensor(v) for k, v in buffers.items()}
    if extra:
        case.update(extra)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, separators=(",", ":"))
    print(name, os.path.getsize(os.path.join(OUT, name + ".json")), "bytes")


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)

    # Linear(4, 3) on (2, 4)
    m = nn.Linear(4, 3).double()
    write_case("linear", m, {"x": randn(2, 4)}, lambda m, i: m(i["x"]))

    # LayerNorm(5) on (2, 3, 5), affine random
    m = nn.LayerNorm(5).double()
    randomise(m, g)
    write_case("layer_norm", m, {"x": randn(2, 3, 5) * 2 + 1}, lambda m, i: m(i["x"]))

    # BatchNorm1d(3), training, on (4, 3) and on (2, 3, 4); BatchNorm2d(3) on (2, 3, 2, 2)
    for name, m, shape in [("batch_norm1d", nn.BatchNorm1d(3), (4, 3)),
                           ("batch_norm1d_seq", nn.BatchNorm1d(3), (2, 3, 4)),
                           ("batch_norm2d", nn.BatchNorm2d(3), (2, 3, 2, 2))]:
        m = m.double()
        randomise(m, g)
        m.train()
        write_case(name, m, {"x": randn(*shape) * 1.5 + 0.5}, lambda m, i: m(i["x"]))

    # Embedding(6, 3), indices (2, 3) with a repeated id
    m = nn.Embedding(6, 3).double()
    ids = torch.tensor([[1, 4, 1], [0, 5, 2]])
    write_case("embedding", m, {"ids": ids}, lambda m, i: m(i["ids"]))

    # MultiheadAttention(4, 2), batch-first, cross-attention with a key_padding_mask
    m = nn.MultiheadAttention(4, 2, batch_first=True).double()
    randomise(m, g)
    padding = torch.tensor([[False, False, False, True], [False, True, False, True]])
    write_case("mha_padding", m, {"q": randn(2, 3, 4), "k": randn(2, 4, 4), "v": randn(2, 4, 4),
                                  "key_padding_mask": padding},
               lambda m, i: m(i["q"], i["k"], i["v"], key_padding_mask=i["key_padding_mask"], need_weights=False)[0])

    # MultiheadAttention(6, 3), self-attention with a causal attn_mask (true = may not attend) and padding
    m = nn.MultiheadAttention(6, 3, batch_first=True).double()
    randomise(m, g)
    causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
    padding = torch.tensor([[False, False, False, False], [False, False, True, False]])
    write_case("mha_causal", m, {"x": randn(2, 4, 6), "attn_mask": causal, "key_padding_mask": padding},
               lambda m, i: m(i["x"], i["x"], i["x"], key_padding_mask=i["key_padding_mask"],
                              attn_mask=i["attn_mask"], need_weights=False)[0])

    # TransformerEncoderLayer: post-norm relu, and pre-norm gelu with a causal mask; dropout 0
    m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="relu",
                                   batch_first=True, norm_first=False).double()
    randomise(m, g)
    padding = torch.tensor([[False, False, False], [False, False, True]])
    write_case("encoder_layer_post_relu", m, {"x": randn(2, 3, 4), "key_padding_mask": padding},
               lambda m, i: m(i["x"], src_key_padding_mask=i["key_padding_mask"]))

    m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
                                   batch_first=True, norm_first=True).double()
    randomise(m, g)
    causal = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
    write_case("encoder_layer_pre_gelu", m, {"x": randn(2, 3, 4), "attn_mask": causal},
               lambda m, i: m(i["x"], src_mask=i["attn_mask"]))

    # TransformerEncoder: 2 post-norm layers (copies of one) and a final LayerNorm
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=5, dropout=0.0, batch_first=True).double()
    randomise(layer, g)
    m = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4).double(), enable_nested_tensor=False).double()
    randomise(m, g)
    write_case("encoder", m, {"x": randn(2, 3, 4)}, lambda m, i: m(i["x"]))

    # MLP: Linear(4, 8) -> ReLU -> Linear(8, 3), mean cross-entropy against integer targets
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    target = torch.tensor([0, 2, 1, 2, 0])
    write_case("mlp_cross_entropy", m, {"x": randn(5, 4)}, lambda m, i: m(i["x"]),
               loss_of=lambda out: F.cross_entropy(out, target), extra={"target": tensor(target)})

    # MultiheadAttention with float masks and need_weights=True.  Each case's output is the attention's output
    # and its weights, flattened and joined (torch.cat), so that the probe's loss reaches both.
    def output_and_weights(pair):
        return torch.cat([pair[0].reshape(-1), pair[1].reshape(-1)])

    # MultiheadAttention(6, 3), self-attention with a float (additive) attn_mask and a boolean key padding
    # mask; head-averaged weights
    m = nn.MultiheadAttention(6, 3, batch_first=True).double()
    randomise(m, g)
    padding = torch.tensor([[False, False, False, True], [False, False, False, False]])
    write_case("mha_float_mask", m, {"x": randn(2, 4, 6), "float_attn_mask": randn(4, 4) * 2,
                                     "key_padding_mask": padding},
               lambda m, i: output_and_weights(m(i["x"], i["x"], i["x"], key_padding_mask=i["key_padding_mask"],
                                                 attn_mask=i["float_attn_mask"])))

    # MultiheadAttention(4, 2), cross-attention with a float key_padding_mask alone; weights per head
    # (average_attn_weights=False)
    m = nn.MultiheadAttention(4, 2, batch_first=True).double()
    randomise(m, g)
    write_case("mha_weights_per_head", m, {"q": randn(2, 3, 4), "k": randn(2, 5, 4), "v": randn(2, 5, 4),
                                           "float_key_padding_mask": randn(2, 5) * 2},
               lambda m, i: output_and_weights(m(i["q"], i["k"], i["v"], key_padding_mask=i["float_key_padding_mask"],
                                                 average_attn_weights=False)))

    # MultiheadAttention(4, 2), self-attention with a float (N * num_heads, L, S) attn_mask and a boolean key
    # padding mask; head-averaged weights
    m = nn.MultiheadAttention(4, 2, batch_first=True).double()
    randomise(m, g)
    padding = torch.tensor([[False, True, False], [False, False, False]])
    write_case("mha_weights_averaged", m, {"x": randn(2, 3, 4), "float_attn_mask": randn(4, 3, 3),
                                           "key_padding_mask": padding},
               lambda m, i: output_and_weights(m(i["x"], i["x"], i["x"], key_padding_mask=i["key_padding_mask"],
                                                 attn_mask=i["float_attn_mask"])))

    # Decoders.  Boolean masks are stored as 0/1; float masks are named "float_*" (and get gradients); the
    # causal float mask, -inf above the diagonal, is not stored: both sides build it with
    # generate_square_subsequent_mask.
    def causal(size):
        return nn.Transformer.generate_square_subsequent_mask(size).double()

    # TransformerDecoderLayer(4, 2), post-norm relu: boolean causal tgt_mask, float memory_mask, both key
    # padding masks
    m = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="relu",
                                   batch_first=True, norm_first=False).double()
    randomise(m, g)
    write_case("decoder_layer_post_relu", m,
               {"tgt": randn(2, 3, 4), "memory": randn(2, 5, 4),
                "tgt_mask": torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1),
                "float_memory_mask": randn(3, 5),
                "tgt_key_padding_mask": torch.tensor([[False, False, False], [False, False, True]]),
                "memory_key_padding_mask": torch.tensor([[False, False, False, False, True],
                                                         [False, True, False, False, False]])},
               lambda m, i: m(i["tgt"], i["memory"], tgt_mask=i["tgt_mask"], memory_mask=i["float_memory_mask"],
                              tgt_key_padding_mask=i["tgt_key_padding_mask"],
                              memory_key_padding_mask=i["memory_key_padding_mask"]))

    # TransformerDecoderLayer(6, 3), pre-norm gelu, sequence-first (batch_first=False): float causal tgt_mask,
    # boolean tgt key padding mask, float memory key padding mask
    m = nn.TransformerDecoderLayer(6, 3, dim_feedforward=5, dropout=0.0, activation="gelu",
                                   batch_first=False, norm_first=True).double()
    randomise(m, g)
    write_case("decoder_layer_pre_gelu_seq_first", m,
               {"tgt": randn(4, 2, 6), "memory": randn(3, 2, 6),
                "tgt_key_padding_mask": torch.tensor([[False, False, False, True], [False, False, False, False]]),
                "float_memory_key_padding_mask": randn(2, 3)},
               lambda m, i: m(i["tgt"], i["memory"], tgt_mask=causal(4),
                              tgt_key_padding_mask=i["tgt_key_padding_mask"],
                              memory_key_padding_mask=i["float_memory_key_padding_mask"]))

    # TransformerDecoder: 2 post-norm layers (copies of one) and a final LayerNorm, causal tgt_mask and a
    # boolean memory_mask
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=5, dropout=0.0, batch_first=True).double()
    randomise(layer, g)
    m = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(4).double()).double()
    randomise(m, g)
    write_case("decoder", m,
               {"tgt": randn(2, 3, 4), "memory": randn(2, 4, 4),
                "memory_mask": torch.tensor([[False, True, False, False], [False, False, False, True],
                                             [True, False, False, False]])},
               lambda m, i: m(i["tgt"], i["memory"], tgt_mask=causal(3), memory_mask=i["memory_mask"]))

    # Transformer(d_model=4, nhead=2, 2 encoder and 2 decoder layers, dim_feedforward=6, dropout 0,
    # batch_first): every mask kind
    m = nn.Transformer(d_model=4, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=6,
                       dropout=0.0, batch_first=True).double()
    randomise(m, g)
    write_case("transformer", m,
               {"src": randn(2, 5, 4), "tgt": randn(2, 3, 4), "float_src_mask": randn(5, 5),
                "memory_mask": torch.tensor([[False, False, True, False, False], [False, False, False, False, False],
                                             [False, True, False, False, False]]),
                "src_key_padding_mask": torch.tensor([[False, False, False, False, True],
                                                      [False, False, False, False, False]]),
                "tgt_key_padding_mask": torch.tensor([[False, False, False], [False, False, True]]),
                "memory_key_padding_mask": torch.tensor([[False, False, False, True, True],
                                                         [False, False, False, False, False]])},
               lambda m, i: m(i["src"], i["tgt"], src_mask=i["float_src_mask"], tgt_mask=causal(3),
                              memory_mask=i["memory_mask"], src_key_padding_mask=i["src_key_padding_mask"],
                              tgt_key_padding_mask=i["tgt_key_padding_mask"],
                              memory_key_padding_mask=i["memory_key_padding_mask"]))
    # GroupNorm(2, 4) on (2, 4, 3, 3) and GroupNorm(3, 6) on (2, 6, 5), affine random
    for name, m, shape in [("group_norm", nn.GroupNorm(2, 4), (2, 4, 3, 3)),
                           ("group_norm_seq", nn.GroupNorm(3, 6), (2, 6, 5))]:
        m = m.double()
        randomise(m, g)
        write_case(name, m, {"x": randn(*shape) * 1.5 + 0.5}, lambda m, i: m(i["x"]))

    # ConvTranspose2d(4, 6, 3), stride 2, padding 1, output_padding 1, groups 2, on (2, 4, 3, 4)
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2).double()
    write_case("conv_transpose2d", m, {"x": randn(2, 4, 3, 4)}, lambda m, i: m(i["x"]))

    # ConvTranspose2d(2, 3, (2, 3)), dilation (2, 1), stride (1, 2), padding (0, 1), output_padding (1, 1):
    # the first output_padding reaches the stride (allowed because it is below the dilation) and exceeds the
    # padding, so the last output row is reached by no input
    m = nn.ConvTranspose2d(2, 3, (2, 3), stride=(1, 2), padding=(0, 1), output_padding=(1, 1),
                           dilation=(2, 1)).double()
    write_case("conv_transpose2d_dilation", m, {"x": randn(2, 2, 4, 3)}, lambda m, i: m(i["x"]))

    # Conv1d(4, 6, 3), stride 2, padding 1, dilation 2, groups 2, on (2, 4, 9)
    m = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    write_case("conv1d", m, {"x": randn(2, 4, 9)}, lambda m, i: m(i["x"]))

    # ConvTranspose1d(4, 2, 3), stride 2, padding 1, output_padding 1, groups 2, dilation 2, on (2, 4, 5)
    m = nn.ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2).double()
    write_case("conv_transpose1d", m, {"x": randn(2, 4, 5)}, lambda m, i: m(i["x"]))

    # MaxPool1d(3, stride=2, padding=1) and AvgPool1d(3, stride=2, padding=1) on (2, 3, 8)
    for name, m in [("max_pool1d", nn.MaxPool1d(3, stride=2, padding=1)),
                    ("avg_pool1d", nn.AvgPool1d(3, stride=2, padding=1))]:
        write_case(name, m, {"x": randn(2, 3, 8)}, lambda m, i: m(i["x"]))


if __name__ == "__main__":
    main()
