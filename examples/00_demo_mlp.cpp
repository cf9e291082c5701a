// A first xgrad program: a small multi-layer perceptron learns to tell apart two interleaved half-moons.
//
// What it teaches: a model is nothing but tensors that require a gradient; a forward pass is ordinary
// arithmetic on them (matmul, add, tanh); `loss.backward()` fills every parameter's grad(); and a training
// step is "parameter -= learning_rate * gradient", written by hand here (nn modules and optimizers wrap
// the same steps).  The two moons cannot be split by a straight line, so the hidden layers must learn
// to bend the boundary: watch the loss fall and the accuracy climb.
//
// Run: ./build/examples/00_demo_mlp
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

// The two-moons data set: points on two half circles, one shifted into the other's bay, plus noise.
struct Moons
{
    Tensor<float> points;   // (N, 2)
    IndexArray labels;      // (N), 0 or 1
};

Moons make_moons(std::size_t n_per_moon, float noise, Generator& rng)
{
    const float pi = 3.14159265f;
    const std::size_t n = 2 * n_per_moon;
    xt::xarray<float> angle = rand<float>({n_per_moon}, rng).value() * pi;   // (N/2), uniform in [0, pi)
    xt::xarray<float> jitter = randn<float>({n, 2}, rng).value() * noise;    // (N, 2)

    xt::xarray<float> points = xt::zeros<float>({n, std::size_t(2)});
    IndexArray labels = xt::zeros<std::int64_t>({n});
    for (std::size_t i = 0; i < n_per_moon; ++i)
    {
        const float c = std::cos(angle(i));
        const float s = std::sin(angle(i));
        points(i, 0) = c;   // upper moon, class 0
        points(i, 1) = s;
        points(n_per_moon + i, 0) = 1.f - c;   // lower moon, class 1
        points(n_per_moon + i, 1) = 0.5f - s;
        labels(n_per_moon + i) = 1;
    }
    return {Tensor<float>(xt::xarray<float>(points + jitter)), labels};
}

// A layer's weight, scaled by 1/sqrt(fan_in) so the tanh units start in their responsive range.
Tensor<float> init_weight(std::size_t fan_in, std::size_t fan_out, Generator& rng)
{
    return randn<float>({fan_in, fan_out}, rng, /*requires_grad=*/true, 0.f, 1.f / std::sqrt(float(fan_in)));
}

int main()
{
    Generator rng(42);
    Moons data = make_moons(/*n_per_moon=*/200, /*noise=*/0.1f, rng);     // to train on
    Moons unseen = make_moons(/*n_per_moon=*/100, /*noise=*/0.1f, rng);   // to check it generalises

    // The model, 2 -> 16 -> 16 -> 2: six tensors, nothing more.
    const std::size_t hidden = 16;
    Tensor<float> w1 = init_weight(2, hidden, rng);                      // (2, H)
    Tensor<float> b1 = zeros<float>({hidden}, /*requires_grad=*/true);   // (H)
    Tensor<float> w2 = init_weight(hidden, hidden, rng);                 // (H, H)
    Tensor<float> b2 = zeros<float>({hidden}, /*requires_grad=*/true);   // (H)
    Tensor<float> w3 = init_weight(hidden, 2, rng);                      // (H, 2)
    Tensor<float> b3 = zeros<float>({2}, /*requires_grad=*/true);        // (2)
    std::vector<Tensor<float>> parameters = {w1, b1, w2, b2, w3, b3};

    auto forward = [&](const Tensor<float>& x) {        // x: (N, 2)  ->  logits: (N, 2)
        Tensor<float> h1 = tanh(matmul(x, w1) + b1);    // (N, H)
        Tensor<float> h2 = tanh(matmul(h1, w2) + b2);   // (N, H)
        return matmul(h2, w3) + b3;                     // (N, 2), one score per class
    };
    auto accuracy = [](const Tensor<float>& logits, const IndexArray& labels) {
        IndexArray predicted = xt::argmax(logits.value(), 1);   // (N), the higher-scoring class
        return xt::mean(xt::equal(predicted, labels))();
    };

    const float learning_rate = 0.5f;
    const int steps = 1000;
    for (int step = 0; step <= steps; ++step)
    {
        Tensor<float> logits = forward(data.points);
        Tensor<float> loss = cross_entropy(logits, data.labels);   // mean over the N points

        loss.backward();   // every parameter's grad() now holds dloss/dparameter
        {
            NoGradGuard no_grad;   // the update itself is not part of any graph
            for (auto& parameter : parameters)
            {
                parameter.mutable_value() -= learning_rate * parameter.grad();
                parameter.zero_grad();
            }
        }
        if (step % 100 == 0)
            std::printf("step %4d   loss %.4f   accuracy %5.1f%%\n", step, loss.item(),
                        100.0 * accuracy(logits, data.labels));
    }

    NoGradGuard no_grad;   // evaluation: no graph needed
    const double final_accuracy = accuracy(forward(unseen.points), unseen.labels);
    std::printf("accuracy on %zu points it never saw: %.1f%%\n", unseen.points.shape(0), 100.0 * final_accuracy);
    return final_accuracy > 0.95 ? 0 : 1;
}
