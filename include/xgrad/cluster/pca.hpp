// Principal component analysis, as scikit-learn's PCA: the directions of largest variance of centred samples,
// from the symmetric eigendecomposition of their covariance (LAPACK's syevd through xtensor-blas). Link the
// CMake target xgrad::linalg (xtensor-blas, LAPACK, BLAS) to use it; the rest of xgrad needs none of them,
// and xgrad::compiled does not instantiate this header (its templates are compiled where they are used).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/tensor.hpp"
#include "../kernels/gemm.hpp"
#include "samples.hpp"

namespace xgrad::cluster
{
    // Projects samples (N, D) on the n_components directions of largest variance, and back.
    //     cluster::PCA<float> pca(50);
    //     Tensor<float> features = pca.fit(images).transform(images);   // (N, 784) -> (N, 50)
    // Each component's sign is fixed so that its entry of largest magnitude is positive (the eigensolver's
    // signs are arbitrary), so results do not depend on the LAPACK build: scikit-learn's svd_flip with
    // u_based_decision=False.
    template <class T = float>
    class PCA
    {
    public:
        explicit PCA(std::size_t n_components) : n_components_(n_components)
        {
            if (n_components_ == 0)
                throw value_error("PCA: need at least 1 component, got 0");
        }

        // Learns the mean and the components of x (N, D): N ≥ 2, n_components ≤ min(N, D), finite values.
        PCA& fit(const Tensor<T>& samples)
        {
            const xt::xarray<T>& x = samples.value();
            detail::check_samples("PCA::fit", x);
            const std::size_t n = x.shape()[0], d = x.shape()[1];
            if (n < 2)
                throw value_error("PCA::fit: needs at least 2 samples for a variance, got 1");
            if (n_components_ > std::min(n, d))
                throw value_error("PCA::fit: " + std::to_string(n_components_) + " components for shape " +
                                  shape_string(x.shape()) + " (at most min(N, D))");
            const xt::xarray<double> mean = detail::feature_means(x);   // (D)
            xt::xarray<T> centred = x - xt::cast<T>(mean);              // (N, D)
            // covariance = centredᵀ centred / (N − 1)   (D, D), one GEMM
            xt::xarray<T> covariance = xt::xarray<T>::from_shape({d, d});
            kernels::gemm(true, false, d, d, n, T(1) / static_cast<T>(n - 1), centred.data(), d, centred.data(), d,
                          T(0), covariance.data(), d);
            // LAPACK's eigenvalues ascend; eigenvectors are its columns.
            const auto decomposition = xt::linalg::eigh(xt::xarray<double>(xt::cast<double>(covariance)));
            const auto& eigenvalues = std::get<0>(decomposition);    // (D)
            const auto& eigenvectors = std::get<1>(decomposition);   // (D, D)

            double total_variance = 0;
            for (std::size_t p = 0; p < d; ++p)
                total_variance += std::max(0.0, eigenvalues(p));
            xt::xarray<T> components = xt::xarray<T>::from_shape({n_components_, d});
            xt::xarray<T> variance = xt::xarray<T>::from_shape({n_components_});
            xt::xarray<T> ratio = xt::xarray<T>::from_shape({n_components_});
            for (std::size_t c = 0; c < n_components_; ++c)
            {
                const std::size_t column = d - 1 - c;   // largest first
                std::size_t largest = 0;
                for (std::size_t p = 1; p < d; ++p)
                    if (std::abs(eigenvectors(p, column)) > std::abs(eigenvectors(largest, column)))
                        largest = p;
                const double sign = eigenvectors(largest, column) < 0 ? -1.0 : 1.0;
                for (std::size_t p = 0; p < d; ++p)
                    components(c, p) = static_cast<T>(sign * eigenvectors(p, column));
                const double value = std::max(0.0, eigenvalues(column));   // rounding can make a zero negative
                variance(c) = static_cast<T>(value);
                ratio(c) = static_cast<T>(total_variance > 0 ? value / total_variance : 0.0);
            }
            mean_ = Tensor<T>(xt::xarray<T>(xt::cast<T>(mean)));
            components_ = Tensor<T>(std::move(components));
            explained_variance_ = Tensor<T>(std::move(variance));
            explained_variance_ratio_ = Tensor<T>(std::move(ratio));
            return *this;
        }

        // (x − mean) componentsᵀ   x: (N, D) -> (N, n_components)
        Tensor<T> transform(const Tensor<T>& samples) const
        {
            check_fitted("transform");
            const xt::xarray<T>& x = samples.value();
            detail::check_samples("PCA::transform", x);
            const std::size_t n = x.shape()[0], d = components_.shape(1);
            if (x.shape()[1] != d)
                throw shape_error("PCA::transform: samples have " + std::to_string(x.shape()[1]) +
                                  " features, the components " + std::to_string(d));
            const xt::xarray<T> centred = x - mean_.value();
            xt::xarray<T> projected = xt::xarray<T>::from_shape({n, n_components_});
            kernels::gemm(false, true, n, n_components_, d, T(1), centred.data(), d, components_.value().data(), d,
                          T(0), projected.data(), n_components_);
            return Tensor<T>(std::move(projected));
        }

        // z components + mean   z: (N, n_components) -> (N, D): the samples as the components alone describe them
        Tensor<T> inverse_transform(const Tensor<T>& projected) const
        {
            check_fitted("inverse_transform");
            const xt::xarray<T>& z = projected.value();
            if (z.dimension() != 2 || z.shape()[1] != n_components_)
                throw shape_error("PCA::inverse_transform: expected (N, " + std::to_string(n_components_) +
                                  "), got shape " + shape_string(z.shape()));
            const std::size_t n = z.shape()[0], d = components_.shape(1);
            xt::xarray<T> restored = xt::xarray<T>::from_shape({n, d});
            kernels::gemm(false, false, n, d, n_components_, T(1), z.data(), n_components_, components_.value().data(),
                          d, T(0), restored.data(), d);
            restored += mean_.value();
            return Tensor<T>(std::move(restored));
        }

        Tensor<T> fit_transform(const Tensor<T>& x) { return fit(x).transform(x); }

        std::size_t n_components() const { return n_components_; }
        // (n_components, D), one direction per row, in order of decreasing variance
        const Tensor<T>& components() const { return fitted(components_, "components"); }
        // (n_components): the variance of the samples along each component (divided by N − 1)
        const Tensor<T>& explained_variance() const { return fitted(explained_variance_, "explained_variance"); }
        // (n_components): each component's share of the total variance
        const Tensor<T>& explained_variance_ratio() const
        {
            return fitted(explained_variance_ratio_, "explained_variance_ratio");
        }
        const Tensor<T>& mean() const { return fitted(mean_, "mean"); }   // (D)

    private:
        void check_fitted(const char* what) const
        {
            if (!components_.defined())
                throw value_error(std::string("PCA::") + what + ": call fit first");
        }
        const Tensor<T>& fitted(const Tensor<T>& member, const char* what) const
        {
            check_fitted(what);
            return member;
        }

        std::size_t n_components_;
        Tensor<T> mean_, components_, explained_variance_, explained_variance_ratio_;
    };
}
