// Prints the byte alignment of xtensor's arrays under the flags it is compiled with: the SIMD width is part of
// their type, so a program must be compiled for the width its xgrad_compiled library was (src/CMakeLists.txt).
#include <iostream>

#include <xtensor/xtensor_config.hpp>

int main()
{
    std::cout << XTENSOR_DEFAULT_ALIGNMENT;
}
