// The checks every learner without labels makes of its data: a matrix of N samples by D features, not empty,
// every value finite; and the variance of the features.
#pragma once

#include <cmath>
#include <string>

#include <xtensor/xarray.hpp>

#include "../error.hpp"

namespace xgrad::cluster::detail
{
    // x must be (N, D) with N ≥ 1, D ≥ 1 and no NaN or infinity; `op` names the caller in the error.
    template <class T>
    void check_samples(const std::string& op, const xt::xarray<T>& x)
    {
        if (x.dimension() != 2)
            throw shape_error(op + ": samples must be (N, D), got shape " + shape_string(x.shape()));
        if (x.shape()[0] == 0 || x.shape()[1] == 0)
            throw value_error(op + ": no samples: got shape " + shape_string(x.shape()));
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!std::isfinite(x.data()[i]))
                throw value_error(op + ": sample " + std::to_string(i / x.shape()[1]) + ", feature " +
                                  std::to_string(i % x.shape()[1]) + " is " + std::to_string(x.data()[i]) +
                                  " (samples must be finite)");
    }

    // Σ_p x[i, p] / N for each feature p   x: (N, D)   result: (D), in double
    template <class T>
    xt::xarray<double> feature_means(const xt::xarray<T>& x)
    {
        const std::size_t n = x.shape()[0], d = x.shape()[1];
        xt::xarray<double> means = xt::zeros<double>({d});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t p = 0; p < d; ++p)
                means(p) += x.data()[i * d + p];
        return means / static_cast<double>(n);
    }

    // The mean over features of each feature's variance (population, divided by N)   x: (N, D)
    template <class T>
    double mean_feature_variance(const xt::xarray<T>& x)
    {
        const std::size_t n = x.shape()[0], d = x.shape()[1];
        const xt::xarray<double> means = feature_means(x);
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t p = 0; p < d; ++p)
            {
                const double deviation = x.data()[i * d + p] - means(p);
                sum += deviation * deviation;
            }
        return sum / static_cast<double>(n * d);
    }
}
