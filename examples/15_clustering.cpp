// 15 — Clustering Fashion-MNIST without its labels: k-means on pixels, on PCA features, on autoencoder codes.
//
// What it teaches: unsupervised learning finds groups, not classes, and what it groups depends on how the
// data is described.  k-means (k-means++ seeds, several restarts) splits the 60,000 training images into 10
// clusters three times: on the raw 784 pixels, on their first 50 principal components (PCA keeps most of the
// variance in a fraction of the numbers), and on the 16-number codes of the convolutional autoencoder of
// example 14 (its saved weights with --encoder, or one trained here for a couple of epochs).  Only then are the
// labels brought out, to judge each clustering: purity (the share of images in their cluster's most common
// class) and the adjusted Rand index (agreement with the classes, 0 for chance, 1 for the same partition),
// with the silhouette score (how well separated the clusters are, from the features alone) on a sample.
//
//     ./15_clustering                                        # README: the scores and the times
//     ./15_clustering --encoder autoencoder.safetensors      # reuse the autoencoder example 14 trained
//     ./15_clustering --smoke                                # a few seconds on 3,000 images (for CI)
#include <chrono>
#include <iomanip>
#include <iostream>

#include <xgrad/cluster.hpp>
#include <xgrad/cluster/pca.hpp>
#include <xgrad/data.hpp>
#include <xgrad/io.hpp>
#include <xgrad/xgrad.hpp>

#include "autoencoder.hpp"
#include "command_line.hpp"

using namespace xgrad;

namespace
{
    double seconds_since(std::chrono::steady_clock::time_point start)
    {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    struct Scores
    {
        double purity, adjusted_rand, silhouette, kmeans_seconds;
        std::size_t iterations;   // Lloyd iterations of the kept run
    };

    // k-means on features (N, D); the clusters scored against the classes, the silhouette on the first
    // `silhouette_sample` samples (it costs N² distances).
    Scores cluster_and_score(const xt::xarray<float>& features, const IndexArray& classes, std::size_t k,
                             std::size_t n_init, std::size_t silhouette_sample)
    {
        Generator rng(15);
        cluster::KMeans<float> kmeans(k, cluster::KMeansOptions<float>().n_init(n_init));
        const auto start = std::chrono::steady_clock::now();
        const IndexArray clusters = kmeans.fit_predict(Tensor<float>(features), rng);
        const double kmeans_seconds = seconds_since(start);
        const std::size_t sample = std::min(silhouette_sample, features.shape()[0]);
        const Tensor<float> sampled(xt::xarray<float>(xt::view(features, xt::range(0, sample))));
        const IndexArray sampled_clusters = xt::view(clusters, xt::range(0, sample));
        return {cluster::purity(clusters, classes), cluster::adjusted_rand_score(clusters, classes),
                cluster::silhouette_score(sampled, sampled_clusters), kmeans_seconds, kmeans.n_iter()};
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist", encoder_path;
    std::size_t limit = 60000, k = 10, n_init = 3, components = 50, latent = 16, autoencoder_epochs = 2,
                silhouette_sample = 5000, threads = 0;
    bool smoke = false;
    CommandLine cli{"Cluster Fashion-MNIST with k-means on pixels, PCA features and autoencoder codes"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--limit", limit, "Training images to cluster (the first ones)", std::size_t(20),
                   std::size_t(60000));
    cli.add_option("--k", k, "Clusters", std::size_t(2), std::size_t(1000));
    cli.add_option("--n-init", n_init, "k-means restarts (the lowest inertia is kept)", std::size_t(1),
                   std::size_t(100));
    cli.add_option("--components", components, "Principal components kept", std::size_t(1), std::size_t(784));
    cli.add_option("--encoder", encoder_path, "Weights of example 14's autoencoder (default: train one here)");
    cli.add_option("--latent", latent, "Code size of the autoencoder trained here (or of --encoder's)", std::size_t(2),
                   std::size_t(1568));
    cli.add_option("--autoencoder-epochs", autoencoder_epochs, "Epochs of the autoencoder trained here");
    cli.add_option("--silhouette-sample", silhouette_sample, "Images the silhouette score is computed on",
                   std::size_t(20), std::size_t(60000));
    cli.add_option("--threads", threads, "Worker threads (default: all cores, or XGRAD_NUM_THREADS)");
    cli.add_flag("--smoke", smoke, "A quick run on 3,000 images that checks the clusters match the classes (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (threads > 0)
        set_num_threads(threads);
    if (smoke)
    {
        limit = 3000;
        n_init = 2;
        autoencoder_epochs = 1;
        silhouette_sample = 1000;
    }

    const auto train = data::load_mnist<float>(directory, true);
    limit = std::min(limit, train.labels.size());
    const xt::xarray<float> images = xt::view(train.images, xt::range(0, limit));   // (N, 1, 28, 28)
    const IndexArray classes = xt::view(train.labels, xt::range(0, limit));
    const xt::xarray<float> pixels = xt::reshape_view(images, {limit, std::size_t(28 * 28)});   // (N, 784)
    std::cout << "clustering " << limit << " images into " << k << " clusters (k-means++, " << n_init << " restarts)\n";

    auto start = std::chrono::steady_clock::now();
    cluster::PCA<float> pca(components);
    const xt::xarray<float> pca_features = pca.fit_transform(Tensor<float>(pixels)).value();   // (N, components)
    const double pca_seconds = seconds_since(start);
    const double kept = xt::sum(pca.explained_variance_ratio().value())();

    start = std::chrono::steady_clock::now();
    manual_seed(14);
    autoencoder::ConvAutoencoder model(latent);
    if (!encoder_path.empty())
        model.load_state_dict(io::load_safetensors<float>(encoder_path));
    else
    {
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(2e-3));
        Generator rng(14);
        for (std::size_t epoch = 1; epoch <= autoencoder_epochs; ++epoch)
            autoencoder::train_epoch(model, optimizer, images, smoke ? 32 : 64, 0.f, rng);
    }
    const xt::xarray<float> codes = autoencoder::encode_all(model, images);   // (N, latent)
    const double autoencoder_seconds = seconds_since(start);

    std::cout << std::fixed << std::setprecision(3);
    std::cout << "PCA: " << components << " components keep " << kept * 100 << "% of the variance ("
              << std::setprecision(1) << pca_seconds << " s); autoencoder codes of " << latent << " numbers ("
              << autoencoder_seconds << " s, " << (encoder_path.empty() ? "trained here" : "loaded") << ")\n";
    std::cout << "\nfeatures                   purity   adjusted Rand   silhouette   k-means time (iterations)\n";
    struct Features
    {
        std::string name;
        const xt::xarray<float>& values;
    };
    bool all_match = true;
    for (const Features& features :
         {Features{"raw pixels (784)", pixels}, Features{"PCA (" + std::to_string(components) + ")", pca_features},
          Features{"autoencoder codes (" + std::to_string(latent) + ")", codes}})
    {
        const Scores scores = cluster_and_score(features.values, classes, k, n_init, silhouette_sample);
        std::cout << std::left << std::setw(26) << features.name << std::right << std::setprecision(3) << std::setw(7)
                  << scores.purity << std::setw(16) << scores.adjusted_rand << std::setw(13) << scores.silhouette
                  << std::setw(12) << std::setprecision(2) << scores.kmeans_seconds << " s (" << scores.iterations
                  << ")\n";
        all_match = all_match && scores.adjusted_rand > 0.15 && scores.purity > 0.35;
    }

    if (smoke)
    {
        std::cout << (all_match ? "smoke test passed\n" : "smoke test FAILED: clusters unrelated to the classes\n");
        return all_match ? 0 : 1;
    }
    return 0;
}
