// expect: holds float or double
// Tensor<T> is float or double only: the kernels, the fixtures and the file formats know no other type.
#include <xgrad/core/tensor.hpp>

int main()
{
    xgrad::Tensor<long double> x(xt::xarray<long double>{1.0L, 2.0L});
    return static_cast<int>(x.numel());
}
