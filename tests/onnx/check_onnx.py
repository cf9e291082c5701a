"""onnx.checker on every model the ONNX export test wrote, and what the export promises of each file: opset 17,
IR version 8, dim 0 of every input the symbolic "batch", and each parameter of the module an initializer under its
state-dict name with its shape (the names and shapes are in the test's manifest.json).

    python3 tests/onnx/check_onnx.py <directory of the test's models>
"""
import json
import pathlib
import sys

import onnx
import onnx.checker


def main(directory):
    directory = pathlib.Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    files = sorted(directory.glob("*.onnx"))
    if not files:
        raise SystemExit(f"no .onnx files in {directory}")
    for path in files:
        onnx.checker.check_model(str(path), full_check=True)
    for name, parameters in manifest["parameters"].items():
        model = onnx.load(str(directory / name))
        assert model.ir_version == 8, f"{name}: IR version {model.ir_version}"
        assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)], f"{name}: {model.opset_import}"
        for graph_input in model.graph.input:
            first = graph_input.type.tensor_type.shape.dim[0]
            assert first.dim_param == "batch", f"{name}: input {graph_input.name} has dim 0 {first}"
        initializers = {tensor.name: list(tensor.dims) for tensor in model.graph.initializer}
        for parameter, dims in parameters.items():
            assert initializers.get(parameter) == dims, f"{name}: {parameter} {dims} is not an initializer"
    print(f"onnx.checker accepts {len(files)} files; {len(manifest['parameters'])} models keep their parameters' names")


if __name__ == "__main__":
    main(sys.argv[1])
