// The model example 13 serves, shared with its test: an MLP on Fashion-MNIST's 28 x 28 pixels (values in
// [0, 1]), 10 classes, and the names of what a stored version keeps beside it.
#pragma once

#include <xgrad/xgrad.hpp>

namespace serving_demo
{
    constexpr std::size_t features = 784;
    constexpr std::size_t classes = 10;

    // The reference tensors a stored version keeps for drift monitoring: a sample of the training inputs (N, 784)
    // and the labels the model predicted for them (N).
    constexpr const char* reference_inputs = "inputs";
    constexpr const char* reference_labels = "predicted_labels";

    // x: (N, 784) -> logits (N, 10)
    inline xgrad::nn::Sequential<float> make_model()
    {
        using namespace xgrad::nn;
        return Sequential<float>(Linear(features, 128), ReLU(), Linear(128, classes));
    }

    // Class probabilities (N, 10) of inputs (N, 784), in eval mode and without a graph.
    inline xt::xarray<float> probabilities(xgrad::nn::Sequential<float>& model, const xt::xarray<float>& inputs)
    {
        xgrad::NoGradGuard no_grad;
        model.eval();
        return xgrad::softmax(model(xgrad::Tensor<float>(inputs)), -1).value();
    }
}
