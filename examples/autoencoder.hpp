// The convolutional autoencoder of examples 14 and 15: Fashion-MNIST images squeezed through a small code and
// rebuilt, the model, its training epoch (plain or denoising), the test reconstruction error and the codes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#include <xgrad/data.hpp>
#include <xgrad/xgrad.hpp>

namespace autoencoder
{
    using namespace xgrad;

    // (N, 1, 28, 28) -> code (N, latent) -> (N, 1, 28, 28) in [0, 1].  The encoder halves the image twice with
    // strided convolutions; the decoder doubles it back twice with transposed convolutions.
    class ConvAutoencoder : public nn::Module<float>
    {
    public:
        explicit ConvAutoencoder(std::size_t latent)
        {
            const auto halve = nn::Conv2dOptions().stride(2).padding(1);
            const auto twice = nn::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1);
            encoder = register_module(
                "encoder", nn::Sequential<float>(nn::Conv2d(1, 16, 3, halve), nn::ReLU(),    // (N, 16, 14, 14)
                                                 nn::Conv2d(16, 32, 3, halve), nn::ReLU(),   // (N, 32, 7, 7)
                                                 nn::Flatten(), nn::Linear(32 * 7 * 7, latent)));
            expand = register_module("expand", nn::Linear<float>(latent, 32 * 7 * 7));
            decoder = register_module("decoder", nn::Sequential<float>(nn::ConvTranspose2d(32, 16, 3, twice),
                                                                       nn::ReLU(),   // (N, 16, 14, 14)
                                                                       nn::ConvTranspose2d(16, 1, 3, twice),
                                                                       nn::Sigmoid()));   // (N, 1, 28, 28)
        }

        Tensor<float> encode(const Tensor<float>& images) { return (*encoder)(images); }   // (N, latent)
        Tensor<float> decode(const Tensor<float>& codes)                                   // (N, 1, 28, 28)
        {
            return (*decoder)(reshape(relu((*expand)(codes)), {-1, 32, 7, 7}));
        }
        Tensor<float> forward(const Tensor<float>& images) override { return decode(encode(images)); }
        std::string type_name() const override { return "ConvAutoencoder"; }

        std::shared_ptr<nn::Sequential<float>> encoder, decoder;
        std::shared_ptr<nn::Linear<float>> expand;
    };

    // The images with Gaussian noise of standard deviation `noise` added, clamped to [0, 1].
    inline xt::xarray<float> with_noise(const xt::xarray<float>& images, float noise, Generator& rng)
    {
        const xt::xarray<float> gaussian =
            randn<float>(Shape(images.shape().begin(), images.shape().end()), rng).value();
        return xt::clip(images + noise * gaussian, 0.f, 1.f);
    }

    // One pass over the images (N, 1, 28, 28) in shuffled batches, minimising the mean squared error of the
    // reconstruction; with noise > 0 the model sees noisy images and must rebuild the clean ones (denoising).
    // Returns the mean training loss.
    inline double train_epoch(ConvAutoencoder& model, optim::Adam<float>& optimizer, const xt::xarray<float>& images,
                              std::size_t batch_size, float noise, Generator& rng)
    {
        model.train();
        const std::size_t n = images.shape()[0];
        const auto order = data::random_permutation(n, rng);
        double loss_sum = 0;
        for (std::size_t first = 0; first < n; first += batch_size)
        {
            const std::vector<std::size_t> rows(order.begin() + first, order.begin() + std::min(n, first + batch_size));
            const Tensor<float> clean(xt::xarray<float>(xt::view(images, xt::keep(rows))));
            const Tensor<float> input = noise > 0 ? Tensor<float>(with_noise(clean.value(), noise, rng)) : clean;
            const Tensor<float> loss = mse_loss(model(input), clean);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            loss_sum += loss.item() * static_cast<double>(rows.size());
        }
        return loss_sum / static_cast<double>(n);
    }

    // f applied to the images in batches of 1000, in eval mode without a graph; the results stacked along dim 0.
    template <class F>
    xt::xarray<float> in_batches(ConvAutoencoder& model, const xt::xarray<float>& images, F&& f)
    {
        model.eval();
        NoGradGuard no_grad;
        const std::size_t n = images.shape()[0];
        xt::xarray<float> result;
        for (std::size_t first = 0; first < n; first += 1000)
        {
            const Tensor<float> batch(xt::xarray<float>(xt::view(images, xt::range(first, std::min(n, first + 1000)))));
            const xt::xarray<float> part = f(batch).value();
            const std::size_t per_row = part.size() / part.shape()[0];
            if (first == 0)
            {
                Shape shape(part.shape().begin(), part.shape().end());
                shape[0] = n;
                result = xt::xarray<float>::from_shape(shape);
            }
            std::copy(part.begin(), part.end(), result.data() + first * per_row);
        }
        model.train();
        return result;
    }

    // Mean squared error per pixel of the reconstructions of `inputs` against `clean` (both (N, 1, 28, 28)).
    inline double reconstruction_mse(ConvAutoencoder& model, const xt::xarray<float>& inputs,
                                     const xt::xarray<float>& clean)
    {
        const xt::xarray<float> rebuilt = in_batches(model, inputs, [&](const Tensor<float>& x) { return model(x); });
        return metrics::mean_squared_error(rebuilt, clean);
    }

    // The codes (N, latent) of the images.
    inline xt::xarray<float> encode_all(ConvAutoencoder& model, const xt::xarray<float>& images)
    {
        return in_batches(model, images, [&](const Tensor<float>& x) { return model.encode(x); });
    }
}
