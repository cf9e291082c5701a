// Regression metrics: mean squared error, mean absolute error and the coefficient of determination R².
#pragma once

#include <cmath>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xreducer.hpp>

#include "../config.hpp"
#include "../error.hpp"

namespace xgrad::metrics
{
    namespace detail
    {
        template <class T>
        void check_regression(const char* metric, const xt::xarray<T>& predicted, const xt::xarray<T>& target)
        {
            if (predicted.shape() != target.shape() || target.size() == 0)
                throw shape_error(std::string(metric) + ": predictions " + shape_string(predicted.shape()) +
                                  " and targets " + shape_string(target.shape()) + " must have one non-empty shape");
        }
    }

    template <class T>
    double mean_squared_error(const xt::xarray<T>& predicted, const xt::xarray<T>& target)
    {
        detail::check_regression("mean_squared_error", predicted, target);
        return static_cast<double>(xt::mean(xt::square(predicted - target))());
    }

    template <class T>
    double mean_absolute_error(const xt::xarray<T>& predicted, const xt::xarray<T>& target)
    {
        detail::check_regression("mean_absolute_error", predicted, target);
        return static_cast<double>(xt::mean(xt::abs(predicted - target))());
    }

    // R² = 1 - SS_res / SS_tot.  A constant target (SS_tot = 0) gives 1 for a perfect fit, else 0 (sklearn).
    template <class T>
    double r2_score(const xt::xarray<T>& predicted, const xt::xarray<T>& target)
    {
        detail::check_regression("r2_score", predicted, target);
        const double residual = static_cast<double>(xt::sum(xt::square(target - predicted))());
        const double total = static_cast<double>(xt::sum(xt::square(target - xt::mean(target)()))());
        if (total == 0.0)
            return residual == 0.0 ? 1.0 : 0.0;
        return 1.0 - residual / total;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_METRICS_REGRESSION_TEMPLATES(EXTERN, T)                                                                 \
    EXTERN template double metrics::mean_squared_error<T>(const xt::xarray<T>&, const xt::xarray<T>&);                \
    EXTERN template double metrics::mean_absolute_error<T>(const xt::xarray<T>&, const xt::xarray<T>&);               \
    EXTERN template double metrics::r2_score<T>(const xt::xarray<T>&, const xt::xarray<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_METRICS_REGRESSION_TEMPLATES)
}
