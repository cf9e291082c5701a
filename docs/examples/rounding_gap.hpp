// What tutorial steps 4 and 5 print for the gap between two computations of the same numbers.
#pragma once

#include <sstream>
#include <string>

// They agree to rounding, and which bits round depends on the compiler and the SIMD width, so a gap that
// small is printed as a bound: the output, which docs/tutorial.md shows, is then the same in every build.
inline std::string rounding_gap(double gap)
{
    std::ostringstream text;
    if (gap < 1e-12)
        text << "< 1e-12";
    else
        text << "= " << gap;
    return text.str();
}
