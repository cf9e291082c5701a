// Tutorial step 5: attention softmax(Q Kᵀ / sqrt(d)) V, its gradients derived through the ops it is made
// of, checked against autograd and finite differences.
#include <cmath>
#include <iostream>

#include <xgrad/xgrad.hpp>

#include "rounding_gap.hpp"

using namespace xgrad;

int main()
{
    Generator rng(11);
    const std::size_t L = 3, S = 4, d = 2;
    Tensor<double> Q = randn<double>({L, d}, rng, true);   // (L, d) queries
    Tensor<double> K = randn<double>({S, d}, rng, true);   // (S, d) keys
    Tensor<double> V = randn<double>({S, d}, rng, true);   // (S, d) values
    const Tensor<double> dO = randn<double>({L, d}, rng);  // upstream gradient dL/dO

    // Forward, op by op.
    const double scale = 1.0 / std::sqrt(double(d));
    Tensor<double> scores = matmul(Q, K, false, true) * scale;   // S = Q Kᵀ / sqrt(d)   (L, S)
    Tensor<double> A = softmax(scores, -1);                      // attention weights     (L, S), rows sum to 1
    Tensor<double> O = matmul(A, V);                             // output                (L, d)
    std::cout << "attention weights A:\n" << A.value() << "\n\n";
    const auto library = scaled_dot_product_attention(Q.detach(), K.detach(), V.detach());
    std::cout << "max |O - scaled_dot_product_attention(Q, K, V)| = "
              << xt::amax(xt::abs(O.value() - library.value()))() << "\n\n";

    sum(O * dO).backward();

    // Backward by hand, in the reverse order of the forward:
    //   O = A V          =>  dA = dO Vᵀ,  dV = Aᵀ dO
    //   A = softmax(S)   =>  dS = A * (dA - rowsum(dA * A))
    //   S = Q Kᵀ·scale   =>  dQ = dS K · scale,  dK = dSᵀ Q · scale
    NoGradGuard by_hand;
    const Tensor<double> a = A.detach();
    const auto dA = matmul(dO, V.detach(), false, true);
    const auto dV = matmul(a, dO, true, false);
    const auto dS = a * (dA - sum(dA * a, -1, /*keepdims=*/true));
    const auto dQ = matmul(dS, K.detach()) * scale;
    const auto dK = matmul(dS, Q.detach(), true, false) * scale;
    auto gap = [](const Tensor<double>& by_hand, const Tensor<double>& p) { return rounding_gap(xt::amax(xt::abs(by_hand.value() - p.grad()))()); };
    std::cout << "dQ by hand:\n" << dQ.value() << "\nQ.grad():\n" << Q.grad() << "\n\n";
    std::cout << "max gaps: dQ " << gap(dQ, Q) << ", dK " << gap(dK, K) << ", dV " << gap(dV, V) << "\n\n";

    EnableGradGuard recording;
    const bool ok = gradcheck(
        [](const std::vector<Tensor<double>>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], Tensor<double>(), /*is_causal=*/true); },
        {Q, K, V});
    std::cout << "gradcheck(causal attention): " << (ok ? "passed" : "failed") << '\n';
}
