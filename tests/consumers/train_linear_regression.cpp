// The program every consumer test builds: fit y = 3 x0 - 2 x1 + 0.5 with plain tensors and SGD.
// It proves that a project outside xgrad can include the headers, compile the kernels and train;
// it exits non-zero unless the loss falls a hundredfold.
#include <cstdio>

#include <xgrad/xgrad.hpp>

#if defined(XGRAD_CONSUMER_EXPECTS_COMPILED) && !defined(XGRAD_COMPILED)
#error "linking xgrad::compiled should have defined XGRAD_COMPILED"
#endif

int main()
{
    using namespace xgrad;
    Generator rng(7);

    Tensor<float> x = randn<float>({64, 2}, rng);                  // (N, 2)
    Tensor<float> true_w(xt::xarray<float>{3.f, -2.f});            // (2)
    Tensor<float> y = matmul(x, reshape(true_w, {2, 1})) + 0.5f;   // (N, 1)

    Tensor<float> w = zeros<float>({2, 1}, /*requires_grad=*/true);
    Tensor<float> b = zeros<float>({1}, /*requires_grad=*/true);
    const float lr = 0.1f;

    float first_loss = 0.f;
    float last_loss = 0.f;
    for (int step = 0; step < 100; ++step)
    {
        Tensor<float> loss = mse_loss(add(matmul(x, w), b), y);
        loss.backward();
        {
            NoGradGuard no_grad;
            w.mutable_value() -= lr * w.grad();
            b.mutable_value() -= lr * b.grad();
        }
        w.zero_grad();
        b.zero_grad();
        if (step == 0)
            first_loss = loss.item();
        last_loss = loss.item();
    }

    std::printf("xgrad %s: loss %.6f -> %.6f\n", XGRAD_VERSION_STRING, first_loss, last_loss);
    return last_loss < first_loss / 100.f ? 0 : 1;
}
