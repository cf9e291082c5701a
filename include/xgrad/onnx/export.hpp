// ONNX export: run a model's forward pass once on example inputs, translate the graph autograd records into
// an ONNX model (opset 17) and write it, so that ONNX Runtime and other serving stacks run the trained model.
// The translation lives in the xgrad::onnx library (src/onnx/export.cpp), the one part of xgrad that links
// protobuf and the ONNX project's message definitions; this header declares it and includes neither.
//   io::export_onnx(model, {example_batch}, "model.onnx");
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../core/tensor.hpp"
#include "../nn/module.hpp"

namespace xgrad::io
{
    struct OnnxExportOptions
    {
        std::vector<std::string> input_names;    // one per example input; default "input" (or "input_0", ...)
        std::vector<std::string> output_names;   // one per output; default "output" (or "output_0", ...)
        bool dynamic_batch = true;               // dim 0 of every input is the symbolic "batch"
        std::string graph_name = "xgrad";
    };

    // The forward pass to record: example inputs -> outputs.
    using OnnxForward = std::function<std::vector<Tensor<float>>(const std::vector<Tensor<float>>&)>;

    // The opset and IR version of the files written (ONNX 1.12's IR 8, which ONNX Runtime 1.30 reads).
    inline constexpr int onnx_opset_version = 17;
    inline constexpr int onnx_ir_version = 8;

    // Runs `forward` once on `example_inputs` with `module` in evaluation mode (its mode is restored after), and
    // writes the graph it records to `path` (atomically): the module's parameters and buffers that the graph
    // reads are initializers under their state-dict names, other constants (masks, scalars) initializers of
    // their own.  An op with no ONNX mapping is a value_error naming it; a write that fails an io_error.
    // With dynamic_batch, shapes that ops record are written relative to dim 0 where they keep it (see
    // README.md, "ONNX export", for the limits).
    void export_onnx(nn::Module<float>& module, const OnnxForward& forward,
                     const std::vector<Tensor<float>>& example_inputs, const std::string& path,
                     const OnnxExportOptions& options = {});

    // The same for a module called on one input: output = module(example_inputs[0]).
    void export_onnx(nn::Module<float>& module, const std::vector<Tensor<float>>& example_inputs,
                     const std::string& path, const OnnxExportOptions& options = {});
}
