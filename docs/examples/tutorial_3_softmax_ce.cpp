// Tutorial step 3: softmax cross-entropy and its gradient softmax(z) - onehot(y).
#include <iostream>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

int main()
{
    Tensor<double> z(xt::xarray<double>{{2.0, 1.0, 0.1}, {0.5, 2.5, -1.0}}, true);   // logits (N=2, C=3)
    const IndexArray labels = {0, 2};                                                // one class per row

    Tensor<double> loss = cross_entropy(z, labels, Reduction::sum);
    loss.backward();

    xt::xarray<double> onehot = xt::zeros<double>({2, 3});
    onehot(0, 0) = 1.0;
    onehot(1, 2) = 1.0;
    const auto p = softmax(z.detach(), -1).value();
    std::cout << "loss = " << loss.item() << "\n\n";
    std::cout << "softmax(z):\n" << p << "\n\n";
    std::cout << "softmax(z) - onehot(y):\n" << xt::xarray<double>(p - onehot) << "\n\n";
    std::cout << "z.grad() from autograd:\n" << z.grad() << "\n\n";

    // With the default Reduction::mean the loss is divided by N, and so is the gradient.
    z.zero_grad();
    cross_entropy(z, labels).backward();
    std::cout << "z.grad() with reduction mean (divided by N = 2):\n" << z.grad() << "\n\n";

    const bool ok = gradcheck([&](const std::vector<Tensor<double>>& in) { return cross_entropy(in[0], labels); }, {z});
    std::cout << "gradcheck(cross_entropy): " << (ok ? "passed" : "failed") << '\n';
}
