// io::load_checkpoint on any bytes into a model and an Adam optimizer with two parameter groups (the seed
// tests/fixtures/optim/adam.ckpt's), the generator states it carries restored, then one training step from
// what loaded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xgrad/io.hpp>
#include <xgrad/xgrad.hpp>

#include "fuzz_support.hpp"

using namespace xgrad;

namespace
{
    // The weights (biases == false: the biases) of `model`, one parameter group.
    std::vector<Tensor<float>> group(const nn::Sequential<float>& model, bool weights)
    {
        std::vector<Tensor<float>> params;
        for (const auto& [name, p] : model.named_parameters())
            if ((name.find("weight") != std::string::npos) == weights)
                params.push_back(p);
        return params;
    }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static xgrad_fuzz::InputFile file(".ckpt");
    const std::string& path = file.write(data, size);
    xgrad_fuzz::expect_typed_errors([&] {
        nn::Sequential<float> model(nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 2));
        optim::Adam<float> optimizer(group(model, true), optim::AdamOptions(0.01));
        optimizer.add_param_group(group(model, false), optim::AdamOptions(0.02));
        const io::CheckpointInfo info = io::load_checkpoint(path, model, optimizer);
        for (const auto& [name, state] : info.generators)
        {
            Generator rng(0);
            io::restore_generator(rng, state);
        }
        const Tensor<float> inputs(xt::xarray<float>{{0.5f, -1.0f, 2.0f}, {1.5f, 0.0f, -0.5f}});
        const Tensor<float> targets(xt::xarray<float>{{1.0f, 0.0f}, {0.0f, 1.0f}});
        const Tensor<float> loss = mse_loss(model(inputs), targets);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    });
    return 0;
}
