// k-means clustering, as scikit-learn's KMeans: k-means++ seeding from a Generator, several restarts (the one
// with the lowest inertia is kept), Lloyd iterations until the centres move less than a tolerance. The
// distances of every sample to every centre are one GEMM per block of samples (kernels/distance.hpp), split
// across the library's threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "../core/tensor.hpp"
#include "../core/types.hpp"
#include "../kernels/distance.hpp"
#include "../parallel.hpp"
#include "samples.hpp"

namespace xgrad::cluster
{
    template <class T>
    class KMeansOptions : public ChainedOptions<KMeansOptions<T>>
    {
        // Runs from different k-means++ seeds; the one with the lowest inertia is kept.
        XGRAD_OPTION(std::size_t, n_init) = 10;
        // Lloyd iterations per run, at most.
        XGRAD_OPTION(std::size_t, max_iter) = 300;
        // A run has converged when Σ ||new centre − old centre||² ≤ tol × the mean variance of the features.
        XGRAD_OPTION(double, tol) = 1e-4;
        // Explicit initial centres (k, D) instead of k-means++: one run from them (n_init is ignored).
        XGRAD_OPTION(std::optional<xt::xarray<T>>, init);
    };

    // k centres (k, D) that minimise the inertia Σ_i ||x_i − c_{label(i)}||² locally.
    //     cluster::KMeans<float> kmeans(10);
    //     IndexArray labels = kmeans.fit_predict(images, rng);   // images (N, D), labels (N) in [0, 10)
    template <class T = float>
    class KMeans
    {
    public:
        explicit KMeans(std::size_t n_clusters, KMeansOptions<T> options = {});

        // Clusters x (N, D); k-means++ draws from rng. Throws value_error when k > N, x is empty or not finite.
        KMeans& fit(const Tensor<T>& x, Generator& rng = default_generator());
        // The nearest centre of each row of x (N, D).
        IndexArray predict(const Tensor<T>& x) const;
        // fit, then the labels of the training samples.
        IndexArray fit_predict(const Tensor<T>& x, Generator& rng = default_generator());

        std::size_t n_clusters() const { return n_clusters_; }
        const Tensor<T>& cluster_centers() const;   // (k, D)
        const IndexArray& labels() const;           // (N) of the samples fit saw
        double inertia() const;                     // of the kept run
        std::size_t n_iter() const;                 // Lloyd iterations of the kept run

    private:
        struct Run
        {
            xt::xarray<T> centres;   // (k, D)
            IndexArray labels;       // (N)
            double inertia = 0;
            std::size_t iterations = 0;
        };

        void check_fitted(const char* what) const;
        xt::xarray<T> seed_plus_plus(const xt::xarray<T>& x, const std::vector<T>& x_norms, Generator& rng) const;
        Run lloyd(const xt::xarray<T>& x, const std::vector<T>& x_norms, xt::xarray<T> centres, double tolerance) const;

        std::size_t n_clusters_;
        KMeansOptions<T> options_;
        Tensor<T> centres_;
        IndexArray labels_;
        double inertia_ = 0;
        std::size_t n_iter_ = 0;
    };

    namespace detail
    {
        // Samples per block of the distance GEMM: (block, k) distances at a time, however large N is, and a
        // block of 784 floats a sample stays in the L2 cache from its distances to its sums.
        constexpr std::size_t distance_block_rows = 256;

        // ||x_i||² of each row of x (N, D).
        template <class T>
        std::vector<T> squared_norms(const xt::xarray<T>& x)
        {
            std::vector<T> norms(x.shape()[0]);
            kernels::row_squared_norms(x.shape()[0], x.shape()[1], x.data(), norms.data());
            return norms;
        }

        // The samples of each cluster, summed (k, D) in double, and counted (k).
        struct ClusterSums
        {
            std::vector<double> sums;
            std::vector<std::size_t> counts;

            ClusterSums(std::size_t k, std::size_t d) : sums(k * d), counts(k) {}
            void add(const ClusterSums& other)
            {
                for (std::size_t i = 0; i < sums.size(); ++i)
                    sums[i] += other.sums[i];
                for (std::size_t j = 0; j < counts.size(); ++j)
                    counts[j] += other.counts[j];
            }
        };

        // For each row of x (N, D), whose squared norms are x_norms: the index of the nearest row of centres
        // (k, D) (the first on a tie) and its squared distance, from ||x||² − 2 x·c + ||c||². With `sums`, also
        // the sums and counts of the samples of each nearest centre, in the same pass over x (which is what an
        // iteration's time is spent reading): each chunk of blocks sums into its own ClusterSums, added in
        // chunk order afterwards, so that the result does not depend on which thread finished first.
        template <class T>
        void nearest_centres(const xt::xarray<T>& x, const std::vector<T>& x_norms, const xt::xarray<T>& centres,
                             IndexArray& nearest, std::vector<T>& nearest_distance, ClusterSums* sums = nullptr)
        {
            const std::size_t n = x.shape()[0], d = x.shape()[1], k = centres.shape()[0];
            std::vector<T> centre_norms(k);
            kernels::row_squared_norms(k, d, centres.data(), centre_norms.data());
            nearest = IndexArray::from_shape({n});
            nearest_distance.resize(n);
            const std::size_t blocks = (n + distance_block_rows - 1) / distance_block_rows;
            std::vector<std::unique_ptr<ClusterSums>> chunk_sums(blocks);   // at each chunk's first block
            parallel_for(0, blocks, 1, [&](std::size_t first_block, std::size_t end_block) {
                std::vector<T> distances(distance_block_rows * k);   // (block, k)
                if (sums != nullptr)
                    chunk_sums[first_block] = std::make_unique<ClusterSums>(k, d);
                for (std::size_t block = first_block; block < end_block; ++block)
                {
                    const std::size_t begin = block * distance_block_rows;
                    const std::size_t rows = std::min(distance_block_rows, n - begin);
                    kernels::squared_distances(rows, k, d, x.data() + begin * d, x_norms.data() + begin, centres.data(),
                                               centre_norms.data(), distances.data());
                    for (std::size_t r = 0; r < rows; ++r)
                    {
                        const T* row = distances.data() + r * k;
                        const std::size_t best = std::min_element(row, row + k) - row;
                        nearest(begin + r) = static_cast<std::int64_t>(best);
                        nearest_distance[begin + r] = row[best];
                        if (sums == nullptr)
                            continue;
                        ClusterSums& chunk = *chunk_sums[first_block];
                        ++chunk.counts[best];
                        double* sum = chunk.sums.data() + best * d;
                        const T* sample = x.data() + (begin + r) * d;
                        for (std::size_t p = 0; p < d; ++p)
                            sum[p] += sample[p];
                    }
                }
            });
            if (sums != nullptr)
                for (const auto& chunk : chunk_sums)
                    if (chunk)
                        sums->add(*chunk);
        }

        // ||x_i − c_j||² by the definition, in double: the inertia and the choice of far samples, where the
        // rounding of the GEMM form should not decide.
        template <class T>
        double exact_squared_distance(const T* x_row, const T* centre, std::size_t d)
        {
            double sum = 0;
            for (std::size_t p = 0; p < d; ++p)
            {
                const double difference = static_cast<double>(x_row[p]) - static_cast<double>(centre[p]);
                sum += difference * difference;
            }
            return sum;
        }

        template <class T>
        double inertia_of(const xt::xarray<T>& x, const xt::xarray<T>& centres, const IndexArray& labels)
        {
            const std::size_t n = x.shape()[0], d = x.shape()[1];
            double sum = 0;
            for (std::size_t i = 0; i < n; ++i)
                sum += exact_squared_distance(x.data() + i * d, centres.data() + labels(i) * d, d);
            return sum;
        }
    }

    template <class T>
    KMeans<T>::KMeans(std::size_t n_clusters, KMeansOptions<T> options)
        : n_clusters_(n_clusters), options_(std::move(options))
    {
        if (n_clusters_ == 0)
            throw value_error("KMeans: need at least 1 cluster, got 0");
        if (options_.n_init() == 0)
            throw value_error("KMeans: n_init must be at least 1, got 0");
        if (options_.max_iter() == 0)
            throw value_error("KMeans: max_iter must be at least 1, got 0");
        if (!(options_.tol() >= 0) || !std::isfinite(options_.tol()))
            throw value_error("KMeans: tol must be finite and at least 0, got " + std::to_string(options_.tol()));
    }

    template <class T>
    KMeans<T>& KMeans<T>::fit(const Tensor<T>& samples, Generator& rng)
    {
        const xt::xarray<T>& x = samples.value();   // (N, D)
        detail::check_samples("KMeans::fit", x);
        const std::size_t n = x.shape()[0], d = x.shape()[1];
        if (n_clusters_ > n)
            throw value_error("KMeans::fit: " + std::to_string(n_clusters_) + " clusters for " + std::to_string(n) +
                              " samples (k must be at most N)");
        const bool explicit_init = options_.init().has_value();
        if (explicit_init)
        {
            const auto& init = *options_.init();
            if (init.dimension() != 2 || init.shape()[0] != n_clusters_ || init.shape()[1] != d)
                throw shape_error("KMeans::fit: init must be (" + std::to_string(n_clusters_) + ", " +
                                  std::to_string(d) + "), got shape " + shape_string(init.shape()));
            detail::check_samples("KMeans::fit: init", init);
        }
        const double tolerance = options_.tol() * detail::mean_feature_variance(x);
        const std::vector<T> x_norms = detail::squared_norms(x);
        Run best;
        const std::size_t runs = explicit_init ? 1 : options_.n_init();
        for (std::size_t run = 0; run < runs; ++run)
        {
            Run result =
                lloyd(x, x_norms, explicit_init ? *options_.init() : seed_plus_plus(x, x_norms, rng), tolerance);
            if (run == 0 || result.inertia < best.inertia)
                best = std::move(result);
        }
        centres_ = Tensor<T>(std::move(best.centres));
        labels_ = std::move(best.labels);
        inertia_ = best.inertia;
        n_iter_ = best.iterations;
        return *this;
    }

    // Greedy k-means++ (Arthur and Vassilvitskii; scikit-learn's variant): the first centre is a uniform draw;
    // each next one is the best, by the resulting potential Σ_i min_j ||x_i − c_j||², of 2 + ⌊ln k⌋
    // candidates drawn with probability proportional to the squared distance to the nearest centre so far.
    template <class T>
    xt::xarray<T> KMeans<T>::seed_plus_plus(const xt::xarray<T>& x, const std::vector<T>& x_norms, Generator& rng) const
    {
        const std::size_t n = x.shape()[0], d = x.shape()[1], k = n_clusters_;
        const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
        xt::xarray<T> centres = xt::xarray<T>::from_shape({k, d});
        auto take = [&](std::size_t centre, std::size_t sample) {
            std::copy(x.data() + sample * d, x.data() + (sample + 1) * d, centres.data() + centre * d);
        };
        const auto uniform_index = [&] {
            return std::min(n - 1, static_cast<std::size_t>(xgrad::detail::uniform01<double>(rng) * n));
        };
        take(0, uniform_index());

        std::vector<double> closest(n);   // squared distance of each sample to its nearest centre so far
        for (std::size_t i = 0; i < n; ++i)
            closest[i] = detail::exact_squared_distance(x.data() + i * d, centres.data(), d);
        std::vector<double> cumulative(n);
        xt::xarray<T> candidates = xt::xarray<T>::from_shape({trials, d});
        std::vector<T> candidate_norms(trials), distances(n * trials);   // distances: (N, trials)
        for (std::size_t centre = 1; centre < k; ++centre)
        {
            double potential = 0;
            for (std::size_t i = 0; i < n; ++i)
                cumulative[i] = potential += closest[i];
            std::vector<std::size_t> chosen(trials);
            for (std::size_t t = 0; t < trials; ++t)
            {
                // A sample with probability closest[i] / potential (a uniform one if every distance is 0).
                const double target = xgrad::detail::uniform01<double>(rng) * potential;
                chosen[t] =
                    potential > 0
                        ? std::min<std::size_t>(n - 1, std::upper_bound(cumulative.begin(), cumulative.end(), target) -
                                                           cumulative.begin())
                        : uniform_index();
                std::copy(x.data() + chosen[t] * d, x.data() + (chosen[t] + 1) * d, candidates.data() + t * d);
            }
            kernels::row_squared_norms(trials, d, candidates.data(), candidate_norms.data());
            kernels::squared_distances(n, trials, d, x.data(), x_norms.data(), candidates.data(),
                                       candidate_norms.data(), distances.data());
            std::size_t best = 0;
            double best_potential = std::numeric_limits<double>::infinity();
            for (std::size_t t = 0; t < trials; ++t)
            {
                double candidate_potential = 0;
                for (std::size_t i = 0; i < n; ++i)
                    candidate_potential += std::min(closest[i], static_cast<double>(distances[i * trials + t]));
                if (candidate_potential < best_potential)
                {
                    best_potential = candidate_potential;
                    best = t;
                }
            }
            for (std::size_t i = 0; i < n; ++i)
                closest[i] = std::min(closest[i], static_cast<double>(distances[i * trials + best]));
            take(centre, chosen[best]);
        }
        return centres;
    }

    // Lloyd's algorithm from `centres` (k, D): assign each sample to its nearest centre, move each centre to the
    // mean of its samples, until the centres move by at most `tolerance` (Σ of squared shifts) or max_iter.
    // A cluster left empty takes the sample farthest from its own centre (the farthest not yet taken, for
    // several empty clusters, in order). The labels and the inertia are those of the final centres.
    template <class T>
    typename KMeans<T>::Run KMeans<T>::lloyd(const xt::xarray<T>& x, const std::vector<T>& x_norms,
                                             xt::xarray<T> centres, double tolerance) const
    {
        const std::size_t n = x.shape()[0], d = x.shape()[1], k = n_clusters_;
        Run run;
        std::vector<T> nearest_distance;
        for (run.iterations = 1; run.iterations <= options_.max_iter(); ++run.iterations)
        {
            detail::ClusterSums clusters(k, d);
            detail::nearest_centres(x, x_norms, centres, run.labels, nearest_distance, &clusters);
            const std::vector<double>& sums = clusters.sums;            // (k, D)
            const std::vector<std::size_t>& counts = clusters.counts;   // (k)
            xt::xarray<T> moved = xt::xarray<T>::from_shape({k, d});
            std::vector<bool> taken;
            for (std::size_t j = 0; j < k; ++j)
            {
                if (counts[j] > 0)
                {
                    for (std::size_t p = 0; p < d; ++p)
                        moved(j, p) = static_cast<T>(sums[j * d + p] / static_cast<double>(counts[j]));
                    continue;
                }
                taken.resize(n, false);
                std::size_t farthest = n;
                double farthest_distance = -1;
                for (std::size_t i = 0; i < n; ++i)
                {
                    const double distance =
                        detail::exact_squared_distance(x.data() + i * d, centres.data() + run.labels(i) * d, d);
                    if (!taken[i] && distance > farthest_distance)
                    {
                        farthest_distance = distance;
                        farthest = i;
                    }
                }
                taken[farthest] = true;
                std::copy(x.data() + farthest * d, x.data() + (farthest + 1) * d, moved.data() + j * d);
            }
            double shift = 0;
            for (std::size_t i = 0; i < moved.size(); ++i)
            {
                const double difference = static_cast<double>(moved.data()[i]) - centres.data()[i];
                shift += difference * difference;
            }
            centres = std::move(moved);
            if (shift <= tolerance)
                break;
        }
        run.iterations = std::min(run.iterations, options_.max_iter());
        detail::nearest_centres(x, x_norms, centres, run.labels, nearest_distance);
        run.inertia = detail::inertia_of(x, centres, run.labels);
        run.centres = std::move(centres);
        return run;
    }

    template <class T>
    IndexArray KMeans<T>::predict(const Tensor<T>& samples) const
    {
        check_fitted("predict");
        const xt::xarray<T>& x = samples.value();
        detail::check_samples("KMeans::predict", x);
        if (x.shape()[1] != centres_.shape(1))
            throw shape_error("KMeans::predict: samples have " + std::to_string(x.shape()[1]) +
                              " features, the centres " + std::to_string(centres_.shape(1)));
        IndexArray labels;
        std::vector<T> distances;
        detail::nearest_centres(x, detail::squared_norms(x), centres_.value(), labels, distances);
        return labels;
    }

    template <class T>
    IndexArray KMeans<T>::fit_predict(const Tensor<T>& x, Generator& rng)
    {
        fit(x, rng);
        return labels_;
    }

    template <class T>
    void KMeans<T>::check_fitted(const char* what) const
    {
        if (!centres_.defined())
            throw value_error(std::string("KMeans::") + what + ": call fit first");
    }

    template <class T>
    const Tensor<T>& KMeans<T>::cluster_centers() const
    {
        check_fitted("cluster_centers");
        return centres_;
    }

    template <class T>
    const IndexArray& KMeans<T>::labels() const
    {
        check_fitted("labels");
        return labels_;
    }

    template <class T>
    double KMeans<T>::inertia() const
    {
        check_fitted("inertia");
        return inertia_;
    }

    template <class T>
    std::size_t KMeans<T>::n_iter() const
    {
        check_fitted("n_iter");
        return n_iter_;
    }
}

#define XGRAD_CLUSTER_KMEANS_TEMPLATES(EXTERN, T) EXTERN template class cluster::KMeans<T>;

namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CLUSTER_KMEANS_TEMPLATES)
}
