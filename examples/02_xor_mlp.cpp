// 02 — XOR with a multilayer perceptron: the classic problem no single linear layer can solve.
// What it teaches: the whole training loop in a few lines — model, loss, zero_grad, backward, step.
//     ./02_xor_mlp --epochs 500 --hidden 8
#include <iostream>

#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

int main(int argc, char** argv)
{
    std::size_t epochs = 500, hidden = 8;
    CommandLine cli{"Learn XOR with a two-layer perceptron"};
    cli.add_option("--epochs", epochs, "Training steps (full batch)");
    cli.add_option("--hidden", hidden, "Hidden units");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    manual_seed(1);
    const Tensor<float> inputs(xt::xarray<float>{{0.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}});   // (4, 2)
    const Tensor<float> targets = reshape(Tensor<float>(xt::xarray<float>{0.f, 1.f, 1.f, 0.f}), {4, 1});   // a xor b
    nn::Sequential model{nn::Linear(2, hidden), nn::Tanh(), nn::Linear(hidden, 1)};
    optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(0.05));

    for (std::size_t epoch = 1; epoch <= epochs; ++epoch)
    {
        const Tensor<float> loss = binary_cross_entropy_with_logits(model(inputs), targets);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        if (epoch == 1 || epoch % (epochs / 5) == 0)
            std::cout << "epoch " << epoch << "  loss " << loss.item() << '\n';
    }

    NoGradGuard inference;
    const auto probabilities = sigmoid(model(inputs)).value();
    bool solved = true;
    for (std::size_t i = 0; i < 4; ++i)
    {
        std::cout << inputs.value()(i, 0) << " xor " << inputs.value()(i, 1) << " -> " << probabilities(i, 0) << '\n';
        solved = solved && (probabilities(i, 0) > 0.5f) == (targets.value()(i, 0) > 0.5f);
    }
    std::cout << (solved ? "solved\n" : "not solved yet: train longer\n");
    return solved ? 0 : 1;
}
