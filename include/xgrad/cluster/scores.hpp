// How good a clustering is, with scikit-learn's definitions: the silhouette score (from the samples alone),
// and, against known classes, the adjusted Rand index and purity. Labels are any integers; only which
// samples share one matters.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/tensor.hpp"
#include "../core/types.hpp"
#include "../kernels/distance.hpp"
#include "../parallel.hpp"
#include "samples.hpp"

namespace xgrad::cluster
{
    namespace detail
    {
        // The labels renumbered 0, 1, ... in increasing order of their values; `count` gets how many there are.
        inline std::vector<std::size_t> dense_labels(const IndexArray& labels, std::size_t& count)
        {
            std::map<std::int64_t, std::size_t> number;
            for (auto label : labels)
                number.emplace(label, 0);
            count = 0;
            for (auto& entry : number)
                entry.second = count++;
            std::vector<std::size_t> dense(labels.size());
            for (std::size_t i = 0; i < labels.size(); ++i)
                dense[i] = number[labels.data()[i]];
            return dense;
        }

        inline void check_labelings(const char* metric, const IndexArray& a, const IndexArray& b)
        {
            if (a.dimension() != 1 || b.dimension() != 1)
                throw shape_error(std::string(metric) + ": labels must be 1-D, got shapes " + shape_string(a.shape()) +
                                  " and " + shape_string(b.shape()));
            if (a.size() != b.size())
                throw shape_error(std::string(metric) + ": " + std::to_string(a.size()) + " cluster labels for " +
                                  std::to_string(b.size()) + " class labels");
            if (a.size() == 0)
                throw value_error(std::string(metric) + ": no samples");
        }

        // The contingency table of two labelings, sparse: (label in a, label in b) -> samples with both.
        inline std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> contingency(const IndexArray& a,
                                                                                        const IndexArray& b)
        {
            std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> table;
            for (std::size_t i = 0; i < a.size(); ++i)
                ++table[{a.data()[i], b.data()[i]}];
            return table;
        }

        inline double pairs(double count) { return count * (count - 1) / 2; }
    }

    // The mean over samples of s(i) = (b(i) − a(i)) / max(a(i), b(i)), where a(i) is the mean Euclidean distance
    // of sample i to the other samples of its cluster and b(i) the smallest mean distance to another cluster's
    // samples; s(i) = 0 in a cluster of one. In [−1, 1], higher for dense, well-separated clusters.
    // x: (N, D), labels: (N) with 2 ≤ (distinct labels) ≤ N − 1. All N² distances are computed (a GEMM per
    // block of rows): subsample a large set first.
    template <class T>
    double silhouette_score(const Tensor<T>& samples, const IndexArray& labels)
    {
        const xt::xarray<T>& x = samples.value();
        detail::check_samples("silhouette_score", x);
        const std::size_t n = x.shape()[0], d = x.shape()[1];
        if (labels.dimension() != 1 || labels.size() != n)
            throw shape_error("silhouette_score: labels must be (" + std::to_string(n) + ",) for " + std::to_string(n) +
                              " samples, got shape " + shape_string(labels.shape()));
        std::size_t clusters = 0;
        const std::vector<std::size_t> cluster = detail::dense_labels(labels, clusters);
        if (clusters < 2 || clusters > n - 1)
            throw value_error("silhouette_score: needs 2 to N − 1 = " + std::to_string(n - 1) + " clusters, got " +
                              std::to_string(clusters));
        std::vector<std::size_t> sizes(clusters);
        for (auto c : cluster)
            ++sizes[c];
        std::vector<T> norms(n);
        kernels::row_squared_norms(n, d, x.data(), norms.data());

        // Rows per block: (block, N) distances of about 4M values per thread at a time.
        const std::size_t block_rows = std::max<std::size_t>(1, (std::size_t(1) << 22) / n);
        const std::size_t blocks = (n + block_rows - 1) / block_rows;
        std::vector<double> silhouette(n);
        parallel_for(0, blocks, 1, [&](std::size_t first_block, std::size_t end_block) {
            std::vector<T> distances(block_rows * n);   // (block, N)
            std::vector<double> sums(clusters);         // distance of one sample to each cluster, summed
            for (std::size_t block = first_block; block < end_block; ++block)
            {
                const std::size_t begin = block * block_rows, rows = std::min(block_rows, n - begin);
                kernels::squared_distances(rows, n, d, x.data() + begin * d, norms.data() + begin, x.data(),
                                           norms.data(), distances.data());
                for (std::size_t r = 0; r < rows; ++r)
                {
                    const std::size_t i = begin + r;
                    std::fill(sums.begin(), sums.end(), 0.0);
                    for (std::size_t j = 0; j < n; ++j)
                        if (j != i)   // its distance to itself is 0, whatever the GEMM's rounding says
                            sums[cluster[j]] += std::sqrt(static_cast<double>(distances[r * n + j]));
                    const std::size_t own = cluster[i];
                    if (sizes[own] == 1)
                    {
                        silhouette[i] = 0;
                        continue;
                    }
                    const double a = sums[own] / static_cast<double>(sizes[own] - 1);
                    double b = std::numeric_limits<double>::infinity();
                    for (std::size_t c = 0; c < clusters; ++c)
                        if (c != own)
                            b = std::min(b, sums[c] / static_cast<double>(sizes[c]));
                    const double scale = std::max(a, b);
                    silhouette[i] = scale > 0 ? (b - a) / scale : 0.0;
                }
            }
        });
        double sum = 0;
        for (double s : silhouette)
            sum += s;
        return sum / static_cast<double>(n);
    }

    // The Rand index (the fraction of sample pairs the two labelings treat alike: together in both or apart in
    // both) corrected for chance (Hubert and Arabie): 1 for the same partition, about 0 for independent random
    // labels, negative below chance.
    inline double adjusted_rand_score(const IndexArray& clusters, const IndexArray& classes)
    {
        detail::check_labelings("adjusted_rand_score", clusters, classes);
        std::map<std::int64_t, std::size_t> cluster_sizes, class_sizes;
        double together_in_both = 0;
        for (const auto& cell : detail::contingency(clusters, classes))
        {
            together_in_both += detail::pairs(static_cast<double>(cell.second));
            cluster_sizes[cell.first.first] += cell.second;
            class_sizes[cell.first.second] += cell.second;
        }
        double together_in_clusters = 0, together_in_classes = 0;
        for (const auto& size : cluster_sizes)
            together_in_clusters += detail::pairs(static_cast<double>(size.second));
        for (const auto& size : class_sizes)
            together_in_classes += detail::pairs(static_cast<double>(size.second));
        const double all_pairs = detail::pairs(static_cast<double>(clusters.size()));
        const double expected = all_pairs > 0 ? together_in_clusters * together_in_classes / all_pairs : 0.0;
        const double maximum = (together_in_clusters + together_in_classes) / 2;
        if (maximum == expected)   // both labelings one cluster, or both all singletons: the same partition
            return 1.0;
        return (together_in_both - expected) / (maximum - expected);
    }

    // The fraction of samples in their cluster's most common class: Σ_clusters max_class |cluster ∩ class| / N.
    // 1 when every cluster holds one class (as N clusters of one trivially do).
    inline double purity(const IndexArray& clusters, const IndexArray& classes)
    {
        detail::check_labelings("purity", clusters, classes);
        std::map<std::int64_t, std::size_t> largest_class;   // cluster -> samples of its most common class
        for (const auto& cell : detail::contingency(clusters, classes))
        {
            std::size_t& largest = largest_class[cell.first.first];
            largest = std::max(largest, cell.second);
        }
        double matched = 0;
        for (const auto& entry : largest_class)
            matched += static_cast<double>(entry.second);
        return matched / static_cast<double>(clusters.size());
    }
}

#define XGRAD_CLUSTER_SCORES_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template double cluster::silhouette_score<T>(const Tensor<T>&, const IndexArray&);

namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CLUSTER_SCORES_TEMPLATES)
}
