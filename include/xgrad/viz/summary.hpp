// One-line summaries of arrays, for graph pictures and narrated traces: the values themselves when
// there are few, else mean, min and max.
#pragma once

#include <iomanip>
#include <sstream>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xsort.hpp>

#include "../config.hpp"

namespace xgrad::viz
{
    template <class T>
    std::string summarize(const xt::xarray<T>& value, std::size_t max_listed = 6)
    {
        std::ostringstream out;
        out << std::setprecision(4);
        if (value.size() == 0)
            return "[]";
        if (value.size() <= max_listed)
        {
            out << '[';
            for (std::size_t i = 0; i < value.size(); ++i)
                out << (i ? ", " : "") << value.data()[i];
            out << ']';
            return out.str();
        }
        out << "mean " << xt::mean(value)() << ", min " << xt::amin(value)() << ", max " << xt::amax(value)();
        return out.str();
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_VIZ_SUMMARY_TEMPLATES(EXTERN, T)                                                                        \
    EXTERN template std::string viz::summarize<T>(const xt::xarray<T>&, std::size_t);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_VIZ_SUMMARY_TEMPLATES)
}
