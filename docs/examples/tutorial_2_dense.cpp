// Tutorial step 2: a dense layer y = x Wᵀ + b, its gradients derived by hand, and gradcheck.
#include <iostream>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

int main()
{
    Generator rng(7);
    Tensor<double> x = randn<double>({4, 3}, rng, true);   // (N, in)
    Tensor<double> W = randn<double>({2, 3}, rng, true);   // (out, in), torch.nn.Linear's layout
    Tensor<double> b = randn<double>({2}, rng, true);      // (out)
    const Tensor<double> G = randn<double>({4, 2}, rng);   // a fixed upstream gradient dL/dY

    // L = sum(Y * G), so dL/dY = G exactly.
    Tensor<double> Y = linear(x, W, b);                     // matmul(x, W, false, true) + b
    Tensor<double> loss = sum(Y * G);
    loss.backward();

    // By hand:  dx = dY W      dW = dYᵀ x      db = sum of dY over the batch
    const auto dx = matmul(G, W).value();
    const auto dW = matmul(G, x, /*trans_a=*/true).value();
    const auto db = sum(G, 0).value();
    std::cout << "dx by hand:\n" << dx << "\nx.grad():\n" << x.grad() << "\n\n";
    std::cout << "dW by hand:\n" << dW << "\nW.grad():\n" << W.grad() << "\n\n";
    std::cout << "db by hand: " << db << "   b.grad(): " << b.grad() << "\n\n";
    std::cout << "max |dW - W.grad()| = " << xt::amax(xt::abs(dW - W.grad()))() << '\n';

    // The same check, element by element, against central finite differences.
    const bool ok = gradcheck([](const std::vector<Tensor<double>>& in) { return linear(in[0], in[1], in[2]); },
                              {x, W, b});
    std::cout << "gradcheck(linear): " << (ok ? "passed" : "failed") << '\n';
}
