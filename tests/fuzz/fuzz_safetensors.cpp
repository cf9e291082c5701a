// io::load_safetensors on any bytes, as float and as double; a file that loads is given to a small model
// (load_state_dict), which then runs a forward and a backward pass on it.
#include <cstddef>
#include <cstdint>

#include <xgrad/io.hpp>
#include <xgrad/xgrad.hpp>

#include "fuzz_support.hpp"

using namespace xgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static xgrad_fuzz::InputFile file(".safetensors");
    const std::string& path = file.write(data, size);
    xgrad_fuzz::expect_typed_errors([&] { io::load_safetensors<double>(path); });
    xgrad_fuzz::expect_typed_errors([&] {
        const StateDict<float> state = io::load_safetensors<float>(path);
        // The model of the seed tests/fixtures/io/mlp.safetensors: 4 -> 3 -> 2.
        nn::Sequential<float> model(nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2));
        model.load_state_dict(state);
        const Tensor<float> inputs(xt::xarray<float>{{0.5f, -1.0f, 2.0f, 0.25f}});
        sum(model(inputs)).backward();
    });
    return 0;
}
