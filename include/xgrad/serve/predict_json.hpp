// The JSON of a prediction service: a request's inputs parsed and checked (network input: nothing in it is
// trusted), and the answer written.
//   request   {"input": [x_1, ..., x_F]}   or   {"inputs": [[x_1, ..., x_F], ...]}   (numbers in [min, max])
//   answer    {"version": V, "predictions": [{"label": k, "probabilities": [p_1, ..., p_C], "version": V}, ...]}
//             (each prediction names the model version that made it: a request served while the model is
//             swapped may span two; the top-level version is its first prediction's)
// A malformed request is a value_error whose message says what was wrong and where ("inputs[2][17] is a
// string, not a number"); a server answers it with 400 and that message.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>

#include "../error.hpp"
#include "../io/json_excerpt.hpp"

namespace xgrad::serve
{
    struct PredictLimits
    {
        std::size_t features = 784;     // values per input
        std::size_t max_inputs = 256;   // inputs per request
        double min_value = 0.0;         // the range every value must lie in
        double max_value = 1.0;
    };

    namespace detail
    {
        inline std::string json_kind(const nlohmann::json& value)
        {
            return value.is_string()    ? "a string"
                   : value.is_boolean() ? "a boolean"
                   : value.is_null()    ? "null"
                   : value.is_array()   ? "an array"
                   : value.is_object()  ? "an object"
                                        : "a number";
        }

        // One input: an array of `limits.features` finite numbers in range, into `row` (F floats).
        inline void parse_input(const nlohmann::json& input, const std::string& where, const PredictLimits& limits,
                                float* row)
        {
            if (!input.is_array())
                throw value_error(where + " must be an array of " + std::to_string(limits.features) + " numbers, got " +
                                  json_kind(input));
            if (input.size() != limits.features)
                throw value_error(where + " has " + std::to_string(input.size()) + " values, expected " +
                                  std::to_string(limits.features));
            for (std::size_t i = 0; i < input.size(); ++i)
            {
                const nlohmann::json& value = input[i];
                const std::string at = where + "[" + std::to_string(i) + "]";
                if (!value.is_number())
                    throw value_error(at + " is " + json_kind(value) + ", not a number");
                const double number = value.get<double>();
                if (!std::isfinite(number))
                    throw value_error(at + " is not a finite number");
                if (number < limits.min_value || number > limits.max_value)
                    throw value_error(at + " is " + io::detail::json_excerpt(value) + ", outside [" +
                                      std::to_string(limits.min_value) + ", " + std::to_string(limits.max_value) + "]");
                row[i] = static_cast<float>(number);
            }
        }
    }

    // The inputs of a request body, (n, F) with 1 <= n <= limits.max_inputs.
    inline xt::xarray<float> parse_predict_request(const std::string& body, const PredictLimits& limits)
    {
        const nlohmann::json request = nlohmann::json::parse(body, nullptr, false);
        if (request.is_discarded())
            throw value_error("the request body is not valid JSON");
        if (!request.is_object())
            throw value_error("the request must be a JSON object with \"input\" or \"inputs\", got " +
                              detail::json_kind(request));
        const bool one = request.contains("input"), batch = request.contains("inputs");
        if (one == batch || request.size() != 1)
            throw value_error("the request must have exactly one field, \"input\" (one input) or \"inputs\" (a batch)");
        if (one)
        {
            xt::xarray<float> inputs = xt::xarray<float>::from_shape({1, limits.features});
            detail::parse_input(request.at("input"), "input", limits, inputs.data());
            return inputs;
        }
        const nlohmann::json& list = request.at("inputs");
        if (!list.is_array() || list.empty())
            throw value_error("\"inputs\" must be a non-empty array of inputs");
        if (list.size() > limits.max_inputs)
            throw value_error("\"inputs\" holds " + std::to_string(list.size()) + " inputs, at most " +
                              std::to_string(limits.max_inputs) + " are taken per request");
        xt::xarray<float> inputs = xt::xarray<float>::from_shape({list.size(), limits.features});
        for (std::size_t n = 0; n < list.size(); ++n)
            detail::parse_input(list[n], "inputs[" + std::to_string(n) + "]", limits,
                                inputs.data() + n * limits.features);
        return inputs;
    }

    // The answer to a request: each row of probabilities (n, C) with its arg-max label and the version of the
    // model that computed it (n versions).
    inline std::string predict_response(const xt::xarray<float>& probabilities,
                                        const std::vector<std::uint64_t>& versions)
    {
        if (probabilities.dimension() != 2 || probabilities.shape(0) != versions.size() || versions.empty())
            throw shape_error("predict_response: need (n, C) probabilities and n >= 1 versions, got " +
                              shape_string(probabilities.shape()) + " and " + std::to_string(versions.size()));
        nlohmann::json predictions = nlohmann::json::array();
        const std::size_t classes = probabilities.shape(1);
        for (std::size_t n = 0; n < probabilities.shape(0); ++n)
        {
            const float* row = probabilities.data() + n * classes;
            std::vector<float> values(row, row + classes);
            std::size_t label = 0;
            for (std::size_t c = 1; c < classes; ++c)
                if (row[c] > row[label])
                    label = c;
            predictions.push_back({{"label", label}, {"probabilities", values}, {"version", versions[n]}});
        }
        return nlohmann::json{{"version", versions.front()}, {"predictions", predictions}}.dump();
    }

    // The body of an error answer: {"error": message}.
    inline std::string error_response(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }
}
