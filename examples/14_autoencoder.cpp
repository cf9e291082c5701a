// 14 — A convolutional autoencoder on Fashion-MNIST: learning without labels.
//
// What it teaches: a network can learn useful features with no labels at all, by learning to rebuild its
// input through a narrow code.  Two strided convolutions squeeze a 28 × 28 image into 16 numbers; a linear
// layer and two transposed convolutions rebuild it, and the loss is the mean squared error between the image
// and its reconstruction.  The test reconstruction error is compared with the best a model without a code can
// do (the mean training image).  It writes the test images beside their reconstructions, and a map of the
// codes in 2-D (their first two principal components) coloured by class, which the network never saw: similar
// clothes land near each other.  --denoise trains it to rebuild clean images from noisy ones.
//
//     ./14_autoencoder                     # README: the test error, the time, the pictures
//     ./14_autoencoder --denoise           # a denoising autoencoder (Gaussian noise of σ = --noise)
//     ./14_autoencoder --smoke             # a few seconds: checks that it learns
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <xgrad/cluster/pca.hpp>
#include <xgrad/data.hpp>
#include <xgrad/io.hpp>
#include <xgrad/viz/plot.hpp>
#include <xgrad/xgrad.hpp>

#include "autoencoder.hpp"
#include "command_line.hpp"

using namespace xgrad;

namespace
{
    const std::vector<std::string> class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

    std::vector<double> pixels(const xt::xarray<float>& images, std::size_t index)
    {
        const float* first = images.data() + index * 28 * 28;
        return std::vector<double>(first, first + 28 * 28);
    }

    // The rows of a (N, ...) array, as an array.
    xt::xarray<float> first_rows(const xt::xarray<float>& a, std::size_t count)
    {
        return xt::view(a, xt::range(0, std::min(count, a.shape()[0])));
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist", out_dir = ".";
    std::size_t epochs = 5, batch_size = 64, latent = 16, threads = 0;
    double lr = 2e-3, noise = 0.3;
    bool denoise = false, smoke = false;
    CommandLine cli{"Train a convolutional autoencoder on Fashion-MNIST and show what it rebuilds"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--out", out_dir, "Where to write the pictures and the weights");
    cli.add_option("--epochs", epochs, "Passes over the training set");
    cli.add_option("--batch-size", batch_size, "Images per step", std::size_t(1), std::size_t(60000));
    cli.add_option("--latent", latent, "Numbers in the code of an image", std::size_t(2), std::size_t(1568));
    cli.add_option("--lr", lr, "Adam learning rate");
    cli.add_flag("--denoise", denoise, "Train on noisy images to rebuild the clean ones");
    cli.add_option("--noise", noise, "Standard deviation of the noise --denoise adds (pixels are in [0, 1])");
    cli.add_option("--threads", threads, "Worker threads (default: all cores, or XGRAD_NUM_THREADS)");
    cli.add_flag("--smoke", smoke, "A tiny run on 2,000 images that checks the model learns (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (threads > 0)
        set_num_threads(threads);

    auto train = data::load_mnist<float>(directory, true);
    auto test = data::load_mnist<float>(directory, false);
    if (smoke)
    {
        train.images = first_rows(train.images, 2000);
        test.images = first_rows(test.images, 500);
        test.labels = xt::view(test.labels, xt::range(0, 500));
        epochs = 1;
        batch_size = 32;
    }
    const float noise_level = denoise ? static_cast<float>(noise) : 0.f;
    Generator rng(14);
    // With --denoise the test inputs are noisy too (drawn once), and the target is always the clean image.
    const xt::xarray<float> test_inputs =
        denoise ? autoencoder::with_noise(test.images, noise_level, rng) : test.images;

    // Without a code, the best guess of every image is the mean training image.
    const xt::xarray<float> mean_image = xt::mean(train.images, {0});
    const double baseline = metrics::mean_squared_error(xt::xarray<float>(test.images * 0.f + mean_image), test.images);
    std::cout << "test MSE of the mean training image: " << std::fixed << std::setprecision(4) << baseline << '\n';
    if (denoise)
        std::cout << "test MSE of the noisy images themselves: "
                  << metrics::mean_squared_error(test_inputs, test.images) << '\n';

    manual_seed(14);
    autoencoder::ConvAutoencoder model(latent);
    std::cout << model.summary();
    optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(lr));
    const auto start = std::chrono::steady_clock::now();
    double first_loss = 0, test_mse = 0;
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch)
    {
        const double loss = autoencoder::train_epoch(model, optimizer, train.images, batch_size, noise_level, rng);
        if (epoch == 1)
            first_loss = loss;
        test_mse = autoencoder::reconstruction_mse(model, test_inputs, test.images);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "epoch " << std::setw(2) << epoch << "  train MSE " << loss << "  test MSE " << test_mse << "  ("
                  << std::setprecision(1) << seconds << " s)" << std::setprecision(4) << '\n';
    }
    std::cout << "test reconstruction MSE " << test_mse << " (the mean image: " << baseline << ")\n";

    // The first test image of each class, as given to the model (noisy or not) and as rebuilt.
    std::vector<std::size_t> shown;
    for (std::size_t c = 0; c < class_names.size(); ++c)
        for (std::size_t i = 0; i < test.labels.size(); ++i)
            if (test.labels(i) == static_cast<std::int64_t>(c))
            {
                shown.push_back(i);
                break;
            }
    const xt::xarray<float> shown_inputs = xt::view(test_inputs, xt::keep(shown));
    const xt::xarray<float> rebuilt =
        autoencoder::in_batches(model, shown_inputs, [&](const Tensor<float>& x) { return model(x); });
    viz::ImageGrid grid{"Test images and their reconstructions", 28, 28, shown.size(), {}, {}};
    for (std::size_t k = 0; k < shown.size(); ++k)
        grid.images.push_back(pixels(test.images, shown[k]));
    grid.row_labels.push_back("original");
    if (denoise)
    {
        for (std::size_t k = 0; k < shown.size(); ++k)
            grid.images.push_back(pixels(shown_inputs, k));
        grid.row_labels.push_back("noisy input");
    }
    for (std::size_t k = 0; k < shown.size(); ++k)
        grid.images.push_back(pixels(rebuilt, k));
    grid.row_labels.push_back("rebuilt");

    // The codes of (up to) 2,000 test images in 2-D: their first two principal components.
    const xt::xarray<float> codes = autoencoder::encode_all(model, first_rows(test_inputs, 2000));
    cluster::PCA<float> pca(2);
    const xt::xarray<float> plane = latent == 2 ? codes : pca.fit_transform(Tensor<float>(codes)).value();
    viz::ScatterChart map{"Codes of test images (never shown their classes)",
                          latent == 2 ? "code 1" : "principal component 1",
                          latent == 2 ? "code 2" : "principal component 2",
                          {},
                          {},
                          {},
                          class_names};
    for (std::size_t i = 0; i < plane.shape()[0]; ++i)
    {
        map.x.push_back(plane(i, 0));
        map.y.push_back(plane(i, 1));
        map.group.push_back(static_cast<std::size_t>(test.labels(i)));
    }

    std::filesystem::create_directories(out_dir);
    const std::string prefix =
        (std::filesystem::path(out_dir) / (denoise ? "denoising_autoencoder" : "autoencoder")).string();
    viz::save_svg(prefix + "_reconstructions.svg", grid);
    viz::save_svg(prefix + "_codes.svg", map);
    io::save_safetensors(model.state_dict(), prefix + ".safetensors");
    std::cout << "wrote " << prefix << "_reconstructions.svg, " << prefix << "_codes.svg and " << prefix
              << ".safetensors\n";

    if (smoke)
    {
        const bool learned = test_mse < baseline && std::isfinite(first_loss);
        std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: no better than the mean image\n");
        return learned ? 0 : 1;
    }
    return 0;
}
