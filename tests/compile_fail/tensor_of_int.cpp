// expect: holds float or double
// Integer data are IndexArray (labels, ids), never a Tensor: gradients need a floating type.
#include <xgrad/core/tensor.hpp>

int main()
{
    xgrad::Tensor<int> x(xt::xarray<int>{1, 2});
    return static_cast<int>(x.numel());
}
