// 03 — Regularisation: bias, variance, and four ways to tame an overfitting model.
//
// What it teaches: a degree-15 polynomial fitted to 20 noisy points of a smooth curve memorises the noise
// (low training error, high validation error: variance).  The same model trained with an L2 penalty, an
// L1 penalty, dropout on its features, or early stopping on a validation set generalises better.  The
// table shows train and validation error for each, and how many weights L1 drives to (almost) zero.
//
//     ./03_regularization --degree 15 --steps 3000
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <string>

#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    // Points of y = sin(2 pi x) + noise, x uniform in [0, 1], as polynomial features x, x^2, ..., x^degree
    // standardised with the training set's statistics.
    struct Data
    {
        Tensor<double> features, targets;   // (N, degree), (N, 1)
    };

    Data make_points(std::size_t count, std::size_t degree, double noise, Generator& rng)
    {
        xt::xarray<double> features = xt::zeros<double>({count, degree});
        xt::xarray<double> targets = xt::zeros<double>({count, std::size_t(1)});
        const double pi = 3.14159265358979323846;
        const auto xs = rand<double>({count}, rng).value();
        const auto noises = randn<double>({count}, rng).value();
        for (std::size_t i = 0; i < count; ++i)
        {
            for (std::size_t d = 0; d < degree; ++d)
                features(i, d) = std::pow(xs(i), static_cast<double>(d + 1));
            targets(i, 0) = std::sin(2 * pi * xs(i)) + noise * noises(i);
        }
        return {Tensor<double>(features), Tensor<double>(targets)};
    }

    struct Variant
    {
        std::string name;
        double l2 = 0, l1 = 0, dropout = 0;
        bool early_stopping = false;
    };

    struct Result
    {
        double train_mse, validation_mse;
        std::size_t near_zero_weights;
        std::size_t best_step;
    };

    Result fit_variant(const Variant& variant, const Data& train_set, const Data& validation_set, std::size_t degree,
                 std::size_t steps, double lr)
    {
        manual_seed(7);   // every variant starts from the same weights
        nn::Sequential<double> model{nn::Dropout<double>(variant.dropout), nn::Linear<double>(degree, 1)};
        optim::Adam<double> optimizer(model.parameters(), optim::AdamOptions(lr));
        auto validation_error = [&] {
            NoGradGuard no_grad;
            model.eval();
            const double error = mse_loss(model(validation_set.features), validation_set.targets).item();
            model.train();
            return error;
        };

        double best_error = std::numeric_limits<double>::infinity();
        std::size_t best_step = steps;
        nn::StateDict<double> best_weights;
        for (std::size_t step = 1; step <= steps; ++step)
        {
            Tensor<double> loss = mse_loss(model(train_set.features), train_set.targets);
            if (variant.l2 > 0)
                loss = loss + nn::l2_penalty(nn::weights(model), variant.l2);
            if (variant.l1 > 0)
                loss = loss + nn::l1_penalty(nn::weights(model), variant.l1);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            if (variant.early_stopping && step % 10 == 0)
            {
                const double error = validation_error();
                if (error < best_error)
                {
                    best_error = error;
                    best_step = step;
                    best_weights = model.state_dict();
                }
            }
        }
        if (variant.early_stopping)
            model.load_state_dict(best_weights);

        model.eval();
        NoGradGuard no_grad;
        const auto& weight = dynamic_cast<nn::Linear<double>&>(model[1]).weight.value();
        std::size_t near_zero = 0;
        for (double w : weight)
            near_zero += std::abs(w) < 1e-2;
        return {mse_loss(model(train_set.features), train_set.targets).item(), validation_error(), near_zero, best_step};
    }
}

int main(int argc, char** argv)
{
    std::size_t degree = 15, train_points = 20, steps = 3000;
    double noise = 0.2, lr = 0.05;
    CommandLine cli{"Polynomial regression: overfitting and four regularisers"};
    cli.add_option("--degree", degree, "Polynomial degree (number of features)");
    cli.add_option("--train-points", train_points, "Training points");
    cli.add_option("--steps", steps, "Full-batch Adam steps per variant");
    cli.add_option("--noise", noise, "Standard deviation of the label noise");
    cli.add_option("--lr", lr, "Learning rate");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    Generator rng(2024);
    const Data train_set = make_points(train_points, degree, noise, rng);
    const Data validation_set = make_points(500, degree, noise, rng);

    const Variant variants[] = {{"no regularisation"},
                                {"L2 (lambda 1e-3)", 1e-3},
                                {"L1 (lambda 1e-3)", 0, 1e-3},
                                {"dropout (p 0.2)", 0, 0, 0.2},
                                {"early stopping", 0, 0, 0, true}};
    std::cout << std::left << std::setw(22) << "model" << std::right << std::setw(12) << "train MSE" << std::setw(12)
              << "val MSE" << std::setw(22) << "weights |w| < 0.01" << '\n';
    for (const auto& variant : variants)
    {
        const Result r = fit_variant(variant, train_set, validation_set, degree, steps, lr);
        std::cout << std::left << std::setw(22) << variant.name << std::right << std::fixed << std::setprecision(4)
                  << std::setw(12) << r.train_mse << std::setw(12) << r.validation_mse << std::setw(15)
                  << r.near_zero_weights << " of " << degree;
        if (variant.early_stopping)
            std::cout << "   (best at step " << r.best_step << ")";
        std::cout << '\n';
    }
    std::cout << "\nThe noise alone gives an MSE of about " << noise * noise
              << ": a validation MSE near it means the model learned the curve, not the noise.\n";
}
