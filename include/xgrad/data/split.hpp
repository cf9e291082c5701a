// Splitting examples for validation (train/test split, optionally stratified; k-fold indices) and
// normalising features with statistics fitted on the training split only.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include <xtensor/xreducer.hpp>

#include "../config.hpp"
#include "loader.hpp"

namespace xgrad::data
{
    struct Split
    {
        std::vector<std::size_t> train, test;
    };

    // Shuffles 0..n-1 with `seed` and puts round(test_fraction * n) of them in the test part.  With labels,
    // the split is stratified: each class keeps its proportion in both parts.
    inline Split train_test_split(std::size_t n, double test_fraction, std::uint64_t seed = 0,
                                  const IndexArray* stratify_labels = nullptr)
    {
        if (!(test_fraction > 0.0 && test_fraction < 1.0))
            throw value_error("train_test_split: test_fraction must be in (0, 1)");
        Generator rng(seed);
        Split split;
        auto take = [&](const std::vector<std::size_t>& group) {
            const auto order = random_permutation(group.size(), rng);
            const auto test_count = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(group.size())));
            for (std::size_t i = 0; i < group.size(); ++i)
                (i < test_count ? split.test : split.train).push_back(group[order[i]]);
        };
        if (stratify_labels == nullptr)
        {
            std::vector<std::size_t> all(n);
            std::iota(all.begin(), all.end(), std::size_t(0));
            take(all);
        }
        else
        {
            if (stratify_labels->size() != n)
                throw shape_error("train_test_split: " + std::to_string(stratify_labels->size()) + " labels for " +
                                  std::to_string(n) + " examples");
            std::map<std::int64_t, std::vector<std::size_t>> by_class;
            for (std::size_t i = 0; i < n; ++i)
                by_class[stratify_labels->data()[i]].push_back(i);
            for (const auto& [label, members] : by_class)
                take(members);
        }
        std::sort(split.train.begin(), split.train.end());
        std::sort(split.test.begin(), split.test.end());
        return split;
    }

    // k (train, validation) index pairs: the examples (shuffled with `seed` if asked) cut into k folds,
    // each fold the validation part once.
    inline std::vector<Split> kfold(std::size_t n, std::size_t k, bool shuffle = true, std::uint64_t seed = 0)
    {
        if (k < 2 || k > n)
            throw value_error("kfold: k must be in [2, n], got k = " + std::to_string(k) + " for n = " + std::to_string(n));
        Generator rng(seed);
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t(0));
        if (shuffle)
            order = random_permutation(n, rng);
        std::vector<Split> folds(k);
        for (std::size_t fold = 0; fold < k; ++fold)
        {
            // Fold sizes differ by at most one: the first n % k folds get an extra example.
            const std::size_t begin = fold * (n / k) + std::min(fold, n % k);
            const std::size_t end = begin + n / k + (fold < n % k ? 1 : 0);
            for (std::size_t i = 0; i < n; ++i)
                (i >= begin && i < end ? folds[fold].test : folds[fold].train).push_back(order[i]);
        }
        return folds;
    }

    // Per-feature standardisation x' = (x - mean) / std, fitted on training features (N, F) and applied
    // unchanged to validation and test features (a constant feature keeps std 1 instead of dividing by 0).
    template <class T = float>
    class StandardScaler
    {
    public:
        StandardScaler& fit(const xt::xarray<T>& features)
        {
            if (features.dimension() != 2 || features.shape()[0] == 0)
                throw shape_error("StandardScaler: fit needs features (N, F) with N > 0, got shape " +
                                  shape_string(features.shape()));
            mean_ = xt::mean(features, {0});
            xt::xarray<T> spread = xt::sqrt(xt::mean(xt::square(features - mean_), {0}));
            std_ = xt::where(spread > T(0), spread, T(1));
            return *this;
        }
        xt::xarray<T> transform(const xt::xarray<T>& features) const
        {
            if (mean_.dimension() == 0)   // a default xarray is 0-d with one element, so size() would be 1
                throw value_error("StandardScaler: transform before fit");
            if (features.dimension() != 2 || features.shape()[1] != mean_.size())
                throw shape_error("StandardScaler: expected features (N, " + std::to_string(mean_.size()) + "), got " +
                                  shape_string(features.shape()));
            return (features - mean_) / std_;
        }
        const xt::xarray<T>& mean() const { return mean_; }
        const xt::xarray<T>& scale() const { return std_; }

    private:
        xt::xarray<T> mean_, std_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_DATA_SPLIT_TEMPLATES(EXTERN, T)                                                                         \
    EXTERN template class data::StandardScaler<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_DATA_SPLIT_TEMPLATES)
}
