// serve::parse_predict_request on any request body (network input), for inputs of 4 values in [0, 1], at most
// 3 per request; an accepted request must have the shape and range the limits promise, and its answer must
// be written.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <xgrad/serve/predict_json.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    xgrad::serve::PredictLimits limits;
    limits.features = 4;
    limits.max_inputs = 3;
    const std::string body(reinterpret_cast<const char*>(data), size);
    xgrad_fuzz::expect_typed_errors([&] {
        const xt::xarray<float> inputs = xgrad::serve::parse_predict_request(body, limits);
        if (inputs.dimension() != 2 || inputs.shape(0) < 1 || inputs.shape(0) > 3 || inputs.shape(1) != 4)
            std::abort();
        for (const float value : inputs)
            if (!(value >= 0.0f && value <= 1.0f))
                std::abort();
        xgrad::serve::predict_response(inputs, std::vector<std::uint64_t>(inputs.shape(0), 1));
    });
    return 0;
}
