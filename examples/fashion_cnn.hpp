// The demo's convolutional network for Fashion-MNIST, shared by example 06 (training it), example 12 (serving it
// through ONNX Runtime) and the ONNX export test.
#pragma once

#include <xgrad/nn.hpp>

namespace fashion_cnn
{
    // (N, 1, 28, 28) -> (N, 10) class scores.
    inline xgrad::nn::Sequential<float> make_model()
    {
        namespace nn = xgrad::nn;
        const auto same = nn::Conv2dOptions().padding(1);
        return nn::Sequential<float>(nn::Conv2d(1, 32, 3, same), nn::ReLU(), nn::MaxPool2d(2),    // (N, 32, 14, 14)
                                     nn::Conv2d(32, 64, 3, same), nn::ReLU(), nn::MaxPool2d(2),   // (N, 64, 7, 7)
                                     nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.5),
                                     nn::Linear(128, 10));
    }
}
