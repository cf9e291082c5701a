// Tutorial step 4: a convolution is one GEMM after im2col, and its input gradient is a transposed
// convolution (for stride 1: a full convolution of dL/dy with the flipped kernel).
#include <iostream>

#include <xtensor/xmanipulation.hpp>
#include <xgrad/xgrad.hpp>

#include "rounding_gap.hpp"

using namespace xgrad;

int main()
{
    Generator rng(3);
    Tensor<double> x = randn<double>({1, 2, 4, 4}, rng, true);   // (N, C_in, H, W)
    Tensor<double> w = randn<double>({3, 2, 3, 3}, rng, true);   // (C_out, C_in, kh, kw)
    Tensor<double> y = conv2d(x, w);                             // (1, 3, 2, 2): no padding, stride 1

    // im2col: one column per output pixel, one row per (channel, ki, kj): (2·3·3, 2·2) = (18, 4).
    kernels::conv2d_shape s{/*channels*/ 2, /*in*/ 4, 4, /*kernel*/ 3, 3, /*stride*/ 1, 1,
                            /*padding*/ 0, 0, /*dilation*/ 1, 1, /*out*/ 2, 2};
    xt::xarray<double> col = xt::zeros<double>({s.col_rows(), s.col_cols()});
    kernels::im2col(s, x.value().data(), col.data());
    std::cout << "im2col(x) has shape " << shape_string(col.shape()) << "; its first column (the patch under "
              << "output pixel (0, 0)):\n" << xt::xarray<double>(xt::view(col, xt::all(), 0)) << "\n\n";

    // The GEMM: W as a (C_out, C_in·kh·kw) matrix times the columns gives (C_out, OH·OW).
    const auto gemm = matmul(reshape(w.detach(), {3, 18}), constant<double>(col));
    std::cout << "W (3, 18) · col (18, 4):\n" << gemm.value() << "\nconv2d(x, w) reshaped to (3, 4):\n"
              << reshape(y.detach(), {3, 4}).value() << "\n\n";

    // Backward.  dL/dx = col2im(Wᵀ · dY): scatter every column's gradient back to the pixels it came from.
    // For stride 1 that equals a full convolution of dY with the kernel flipped in space and with
    // in/out channels swapped: a transposed convolution.
    const Tensor<double> dY = randn<double>({1, 3, 2, 2}, rng);
    sum(y * dY).backward();
    xt::xarray<double> flipped = xt::flip(xt::flip(w.value(), 2), 3);               // (C_out, C_in, kh, kw)
    xt::xarray<double> swapped = xt::transpose(flipped, {1, 0, 2, 3});              // (C_in, C_out, kh, kw)
    const auto transposed_conv = conv2d(dY, constant<double>(swapped), Tensor<double>(), 1, /*padding=*/2);
    std::cout << "max |x.grad() - conv2d(dY, flipped Wᵀ, padding 2)| "
              << rounding_gap(xt::amax(xt::abs(x.grad() - transposed_conv.value()))()) << '\n';
    std::cout << "max |x.grad() - conv2d_input_grad(dY, W)|          = "
              << xt::amax(xt::abs(x.grad() - conv2d_input_grad(dY, w.detach(), x.shape()).value()))() << "\n\n";

    const bool ok = gradcheck(
        [](const std::vector<Tensor<double>>& in) { return conv2d(in[0], in[1], in[2], 2, 1); },   // stride 2, padding 1
        {x, w, randn<double>({3}, rng, true)});
    std::cout << "gradcheck(conv2d, stride 2, padding 1): " << (ok ? "passed" : "failed") << '\n';
}
