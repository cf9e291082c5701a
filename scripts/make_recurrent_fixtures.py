#!/usr/bin/python3
"""Reference numbers from PyTorch for xgrad's recurrent layers: writes tests/fixtures/recurrent/<case>.json.

Regenerate (Debian 12: `sudo apt-get install python3-torch python3-numpy`, PyTorch 1.13 CPU):

    /usr/bin/python3 scripts/make_recurrent_fixtures.py

The fixtures are committed; building and running the tests never needs PyTorch.  Each file holds one case:

    "module":  what to build: {"type": "RNN" | "LSTM" | "GRU" | "RNNCell" | "LSTMCell" | "GRUCell",
               "input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first",
               "bidirectional"} (the cells use input_size, hidden_size, bias, nonlinearity)
    "state":   the module's state_dict, loaded by the C++ test with load_state_dict
    "inputs":  "x", and the initial states "h0" / "c0" when the case gives them
    "lengths": the sequence lengths, when the case runs a padded batch through pack_padded_sequence
               (enforce_sorted=False) and pad_packed_sequence (total_length = L, padding 0)
    "outputs": "output", "h_n", "c_n" as PyTorch returns them (a cell: "h_n" is h', "c_n" is c')
    "probes":  a fixed random tensor per output; the scalar loss is the sum over outputs of sum(output * probe)
    "loss":    that loss
    "grads":   d loss / d every input ("input.<name>") and every parameter, by state_dict name

Every tensor is {"shape": [...], "data": [...]} in row-major order.  All numbers are computed in float64.
"""
import json
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "recurrent")


def tensor(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = t.double().reshape(-1).tolist()   # repr: exact round trip
    return {"shape": list(t.shape), "data": data}


def randomise(module, generator):
    """Parameters of a larger spread than the default U(-1/sqrt(H), 1/sqrt(H)), so that the gates saturate
    unevenly and a wrong gate order or a forgotten term shows."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.6)


def run_layer(module, inputs, lengths, batch_first):
    x = inputs["x"]
    hx = None
    if "c0" in inputs:
        hx = (inputs["h0"], inputs["c0"])
    elif "h0" in inputs:
        hx = inputs["h0"]
    if lengths is not None:
        total = x.shape[1 if batch_first else 0]
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out, state = module(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=total)
    else:
        out, state = module(x, hx)
    if isinstance(state, tuple):
        return {"output": out, "h_n": state[0], "c_n": state[1]}
    return {"output": out, "h_n": state}


def run_cell(module, inputs):
    x = inputs["x"]
    if "c0" in inputs:
        h, c = module(x, (inputs["h0"], inputs["c0"]))
        return {"h_n": h, "c_n": c}
    return {"h_n": module(x, inputs.get("h0"))}


def write_case(name, description, module, inputs, lengths=None):
    state = {k: tensor(v) for k, v in module.state_dict().items()}
    for v in inputs.values():
        v.requires_grad_(True)
    if description["type"].endswith("Cell"):
        outputs = run_cell(module, inputs)
    else:
        outputs = run_layer(module, inputs, lengths, description.get("batch_first", False))
    generator = torch.Generator().manual_seed(sum(map(ord, name)))
    probes = {k: torch.randn(v.shape, generator=generator, dtype=torch.float64) for k, v in outputs.items()}
    loss = sum((outputs[k] * probes[k]).sum() for k in outputs)
    loss.backward()
    grads = {"input." + k: tensor(v.grad) for k, v in inputs.items()}
    for k, p in module.named_parameters():
        grads[k] = tensor(p.grad)
    case = {"module": description, "state": state, "inputs": {k: tensor(v) for k, v in inputs.items()},
            "outputs": {k: tensor(v) for k, v in outputs.items()}, "probes": {k: tensor(v) for k, v in probes.items()},
            "loss": float(loss), "grads": grads}
    if lengths is not None:
        case["lengths"] = list(lengths)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, separators=(",", ":"))
    print(name, os.path.getsize(os.path.join(OUT, name + ".json")), "bytes")


def layer_case(name, kind, g, input_size=3, hidden_size=4, num_layers=1, nonlinearity="tanh", bias=True,
               batch_first=False, bidirectional=False, steps=5, batch=3, initial_states=True, lengths=None,
               unbatched=False):
    kwargs = dict(num_layers=num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    if kind == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    module = getattr(nn, kind)(input_size, hidden_size, **kwargs).double()
    randomise(module, g)
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)
    if unbatched:
        inputs = {"x": randn(steps, input_size)}
        state_shape = (num_layers * (2 if bidirectional else 1), hidden_size)
    else:
        inputs = {"x": randn(batch, steps, input_size) if batch_first else randn(steps, batch, input_size)}
        state_shape = (num_layers * (2 if bidirectional else 1), batch, hidden_size)
    if initial_states:
        inputs["h0"] = randn(*state_shape) * 0.5
        if kind == "LSTM":
            inputs["c0"] = randn(*state_shape) * 0.5
    description = {"type": kind, "input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
                   "nonlinearity": nonlinearity, "bias": bias, "batch_first": batch_first,
                   "bidirectional": bidirectional}
    write_case(name, description, module, inputs, lengths)


def cell_case(name, kind, g, input_size=3, hidden_size=5, nonlinearity="tanh", bias=True, batch=2,
              initial_states=True):
    kwargs = dict(bias=bias)
    if kind == "RNNCell":
        kwargs["nonlinearity"] = nonlinearity
    module = getattr(nn, kind)(input_size, hidden_size, **kwargs).double()
    randomise(module, g)
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)
    inputs = {"x": randn(batch, input_size)}
    if initial_states:
        inputs["h0"] = randn(batch, hidden_size) * 0.5
        if kind == "LSTMCell":
            inputs["c0"] = randn(batch, hidden_size) * 0.5
    description = {"type": kind, "input_size": input_size, "hidden_size": hidden_size, "nonlinearity": nonlinearity,
                   "bias": bias}
    write_case(name, description, module, inputs)


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2024)

    cell_case("rnn_cell_tanh", "RNNCell", g)
    cell_case("rnn_cell_relu", "RNNCell", g, nonlinearity="relu")
    cell_case("lstm_cell", "LSTMCell", g)
    cell_case("gru_cell", "GRUCell", g)
    cell_case("gru_cell_zero_state_no_bias", "GRUCell", g, bias=False, initial_states=False)

    layer_case("rnn_tanh", "RNN", g)
    layer_case("rnn_relu_two_layers", "RNN", g, nonlinearity="relu", num_layers=2)
    layer_case("rnn_tanh_bidirectional_lengths", "RNN", g, bidirectional=True, lengths=[3, 5, 1])
    layer_case("lstm", "LSTM", g)
    layer_case("lstm_zero_state", "LSTM", g, initial_states=False, hidden_size=5)
    layer_case("lstm_no_bias_batch_first", "LSTM", g, bias=False, batch_first=True)
    layer_case("lstm_bidirectional_two_layers", "LSTM", g, num_layers=2, bidirectional=True, batch_first=True)
    layer_case("lstm_bidirectional_two_layers_lengths", "LSTM", g, num_layers=2, bidirectional=True,
               lengths=[2, 5, 4])
    layer_case("lstm_unbatched_bidirectional", "LSTM", g, bidirectional=True, unbatched=True)
    layer_case("gru", "GRU", g)
    layer_case("gru_bidirectional_two_layers_batch_first", "GRU", g, num_layers=2, bidirectional=True,
               batch_first=True)
    layer_case("gru_two_layers_lengths_batch_first", "GRU", g, num_layers=2, batch_first=True, lengths=[4, 2, 5],
               bidirectional=True)
    layer_case("gru_unbatched", "GRU", g, unbatched=True, initial_states=False)


if __name__ == "__main__":
    main()
