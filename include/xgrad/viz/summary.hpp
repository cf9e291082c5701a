// One-line summaries of arrays, for graph pictures and narrated traces: the values themselves when
// there are few, else mean, min and max.
#pragma once

#include <iomanip>
#include <sstream>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xsort.hpp>

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
