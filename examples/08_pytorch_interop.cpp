// 08 — Moving a model between PyTorch and xgrad through safetensors files.
//
// What it teaches: xgrad's layers keep torch.nn's parameter names, shapes and layouts, so weights travel
// both ways with no conversion.  scripts/pytorch_interop.py trained a classifier in PyTorch and saved it
// (examples/data/interop); this program loads those weights into the same architecture built from xgrad
// modules, reproduces PyTorch's logits on the recorded inputs, fine-tunes for a few steps, and saves the
// result with xgrad's logits — which the script loads back into PyTorch and compares:
//
//     ./08_pytorch_interop --out xgrad_classifier.safetensors
//     /usr/bin/python3 scripts/pytorch_interop.py check xgrad_classifier.safetensors
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

#ifndef XGRAD_EXAMPLE_DATA
#define XGRAD_EXAMPLE_DATA "examples/data"
#endif

int main(int argc, char** argv)
{
    std::string data_dir = std::string(XGRAD_EXAMPLE_DATA) + "/interop", out_path = "xgrad_classifier.safetensors";
    CommandLine cli{"Load PyTorch weights, reproduce PyTorch's predictions, save weights PyTorch can load"};
    cli.add_option("--data", data_dir, "Directory with classifier.safetensors and classifier_reference.json");
    cli.add_option("--out", out_path, "Where to save the weights for PyTorch");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    // The same architecture as the PyTorch script's torch.nn.Sequential, so the names "0.weight", ... match.
    nn::Sequential model{nn::Linear(2, 32), nn::Tanh(), nn::Linear(32, 32), nn::Tanh(), nn::Linear(32, 3)};
    model.load_state_dict(io::load_safetensors<float>(data_dir + "/classifier.safetensors"));
    std::cout << "Loaded PyTorch's weights:\n" << model.summary();

    std::ifstream reference_file(data_dir + "/classifier_reference.json");
    if (!reference_file)
        throw io_error("cannot open " + data_dir + "/classifier_reference.json");
    const auto reference = nlohmann::json::parse(reference_file);
    const auto inputs_list = reference["inputs"].get<std::vector<std::vector<float>>>();
    const auto logits_list = reference["logits"].get<std::vector<std::vector<float>>>();
    xt::xarray<float> inputs = xt::zeros<float>({inputs_list.size(), std::size_t(2)});
    xt::xarray<float> torch_logits = xt::zeros<float>({logits_list.size(), std::size_t(3)});
    IndexArray labels = IndexArray::from_shape({inputs_list.size()});
    for (std::size_t i = 0; i < inputs_list.size(); ++i)
    {
        std::copy(inputs_list[i].begin(), inputs_list[i].end(), &inputs(i, 0));
        std::copy(logits_list[i].begin(), logits_list[i].end(), &torch_logits(i, 0));
        labels(i) = reference["labels"][i].get<std::int64_t>();
    }

    Tensor<float> logits;
    {
        NoGradGuard inference;
        logits = model(Tensor<float>(inputs));
    }
    const float largest_difference = xt::amax(xt::abs(logits.value() - torch_logits))();
    std::cout << "Largest difference from PyTorch's logits over " << inputs.shape()[0]
              << " inputs: " << largest_difference << "\nAccuracy: xgrad " << metrics::accuracy(logits.value(), labels)
              << ", PyTorch " << reference["accuracy"].get<double>() << '\n';

    // A few steps of fine-tuning on the same points, to show the weights are ordinary xgrad parameters.
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(1e-3));
    for (int step = 0; step < 5; ++step)
    {
        const Tensor<float> loss = cross_entropy(model(Tensor<float>(inputs)), labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
    io::save_safetensors(model.state_dict(), out_path, {{"format", "pt"}});
    // xgrad's logits for the fine-tuned weights, for the script to compare PyTorch's with.
    {
        NoGradGuard inference;
        const xt::xarray<float> tuned = model(Tensor<float>(inputs)).value();
        std::vector<std::vector<float>> rows(tuned.shape()[0]);
        for (std::size_t i = 0; i < rows.size(); ++i)
            rows[i].assign(&tuned(i, 0), &tuned(i, 0) + tuned.shape()[1]);
        std::ofstream(out_path + ".logits.json") << nlohmann::json{{"logits", rows}};
    }
    std::cout << "Saved fine-tuned weights to " << out_path << " (and xgrad's logits to " << out_path << ".logits.json)"
              << "\nCheck them in PyTorch: /usr/bin/python3 scripts/pytorch_interop.py check " << out_path << '\n';
    return largest_difference < 1e-4f ? 0 : 1;
}
