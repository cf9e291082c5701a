// 16 — Bias against variance: validation and learning curves with k-fold cross-validation.
//
// What it teaches: how to tell a model that is too simple from one that is too flexible, from the data
// alone.  Noisy samples of y = sin(3x) are fitted by polynomials (a linear layer on Legendre polynomial
// features of x, trained by Adam) of increasing degree.  The validation curve (training and validation error
// against the degree, mean and spread over 5 folds) falls while the model underfits (high bias: both errors
// high) and rises again once it overfits (high variance: the training error keeps falling, the validation
// error climbs away from it); the marker is the degree with the lowest validation error.  The learning curves
// (error against the number of training samples) of a too-simple and a too-flexible model show the other
// side: more data does not help the first (its two curves meet high), and closes the gap of the second.
// docs/tutorial.md, "Reading bias and variance", reads these curves.
//
//     ./16_bias_variance                  # README: the best degree, the time; writes two SVG pictures
//     ./16_bias_variance --smoke          # a few seconds: checks that the curves have their shape
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <xgrad/data/split.hpp>
#include <xgrad/viz/plot.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    struct Samples
    {
        xt::xarray<float> x;   // (N) in [-1, 1]
        xt::xarray<float> y;   // (N, 1)
    };

    // n samples of y = sin(3x) + Gaussian noise of standard deviation `noise`, x uniform in [-1, 1].
    Samples noisy_sine(std::size_t n, double noise, Generator& rng)
    {
        Samples samples{rand<float>({n}, rng, false, -1.f, 1.f).value(), {}};
        samples.y = xt::sin(3.f * samples.x) + static_cast<float>(noise) * randn<float>({n}, rng).value();
        samples.y.reshape({n, std::size_t(1)});
        return samples;
    }

    // The Legendre polynomials P_1(x) ... P_degree(x) of each sample (N, degree): orthogonal on [-1, 1], so
    // that gradient descent is as well conditioned at degree 15 as at degree 2 (the powers x^k are not).
    // (k + 1) P_{k+1} = (2k + 1) x P_k − k P_{k−1}.
    xt::xarray<float> legendre_features(const xt::xarray<float>& x, std::size_t degree)
    {
        const std::size_t n = x.size();
        xt::xarray<float> features = xt::xarray<float>::from_shape({n, degree});
        for (std::size_t i = 0; i < n; ++i)
        {
            double previous = 1, current = x(i);
            for (std::size_t k = 1; k <= degree; ++k)
            {
                features(i, k - 1) = static_cast<float>(current);
                const double next = ((2.0 * k + 1) * x(i) * current - k * previous) / (k + 1);
                previous = current;
                current = next;
            }
        }
        return features;
    }

    xt::xarray<float> rows(const xt::xarray<float>& a, const std::vector<std::size_t>& indices)
    {
        return xt::view(a, xt::keep(indices));
    }

    struct Errors
    {
        double train, validation;
    };

    // A polynomial of `degree` fitted to the training rows by full-batch Adam; its mean squared errors.
    Errors fit_polynomial(const Samples& samples, const std::vector<std::size_t>& train,
                          const std::vector<std::size_t>& validation, std::size_t degree, std::size_t steps, double lr)
    {
        const Tensor<float> train_x(legendre_features(rows(samples.x, train), degree));
        const Tensor<float> train_y(rows(samples.y, train));
        manual_seed(16);
        nn::Linear<float> model(degree, 1);
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(lr));
        for (std::size_t step = 0; step < steps; ++step)
        {
            const Tensor<float> loss = mse_loss(model(train_x), train_y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        NoGradGuard no_grad;
        const Tensor<float> validation_x(legendre_features(rows(samples.x, validation), degree));
        return {mse_loss(model(train_x), train_y).item(),
                mse_loss(model(validation_x), Tensor<float>(rows(samples.y, validation))).item()};
    }

    // Mean and standard deviation over folds.
    struct Spread
    {
        double mean = 0, deviation = 0;
    };

    Spread spread_of(const std::vector<double>& values)
    {
        Spread s;
        for (double v : values)
            s.mean += v / static_cast<double>(values.size());
        for (double v : values)
            s.deviation += (v - s.mean) * (v - s.mean) / static_cast<double>(values.size());
        s.deviation = std::sqrt(s.deviation);
        return s;
    }

    // Training and validation error of one model, over the k folds: each fold validates once, the others
    // train (only their first `train_size` samples, when given).
    struct Curve
    {
        viz::Series train{"training error", {}, {}}, validation{"validation error", {}, {}};

        void add(const Samples& samples, const std::vector<data::Split>& folds, std::size_t degree,
                 std::size_t train_size, std::size_t steps, double lr)
        {
            std::vector<double> train_errors, validation_errors;
            for (const auto& fold : folds)
            {
                const std::vector<std::size_t> used(fold.train.begin(),
                                                    fold.train.begin() + std::min(train_size, fold.train.size()));
                const Errors errors = fit_polynomial(samples, used, fold.test, degree, steps, lr);
                train_errors.push_back(errors.train);
                validation_errors.push_back(errors.validation);
            }
            const Spread t = spread_of(train_errors), v = spread_of(validation_errors);
            train.values.push_back(t.mean);
            train.spread.push_back(t.deviation);
            validation.values.push_back(v.mean);
            validation.spread.push_back(v.deviation);
        }
    };
}

int main(int argc, char** argv)
{
    std::string out_dir = ".";
    std::size_t samples_for_degrees = 40, max_degree = 15, folds = 5, steps = 3000, simple = 1, flexible = 12;
    double noise = 0.3, lr = 0.05;
    bool smoke = false;
    CommandLine cli{"Validation and learning curves of polynomial fits, with k-fold cross-validation"};
    cli.add_option("--out", out_dir, "Where to write the two SVG pictures");
    cli.add_option("--samples", samples_for_degrees, "Samples of the validation curve (all folds together)",
                   std::size_t(10), std::size_t(100000));
    cli.add_option("--max-degree", max_degree, "Highest polynomial degree of the validation curve", std::size_t(2),
                   std::size_t(40));
    cli.add_option("--folds", folds, "k of k-fold cross-validation", std::size_t(2), std::size_t(20));
    cli.add_option("--steps", steps, "Adam steps per fit (full batch)", std::size_t(1), std::size_t(1000000));
    cli.add_option("--lr", lr, "Adam learning rate");
    cli.add_option("--noise", noise, "Standard deviation of the noise on y");
    cli.add_option("--simple", simple, "Degree of the too-simple model of the learning curves", std::size_t(1),
                   std::size_t(40));
    cli.add_option("--flexible", flexible, "Degree of the too-flexible model of the learning curves", std::size_t(1),
                   std::size_t(40));
    cli.add_flag("--smoke", smoke, "A quick run with fewer degrees and steps (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (smoke)
    {
        max_degree = 9;
        steps = 600;
        folds = 3;
    }
    const auto start = std::chrono::steady_clock::now();

    // The validation curve: error against the degree.
    Generator rng(16);
    const Samples few = noisy_sine(samples_for_degrees, noise, rng);
    const auto degree_folds = data::kfold(samples_for_degrees, folds, /*shuffle=*/true, /*seed=*/16);
    viz::LineChart validation_curve;
    validation_curve.title =
        "Validation curve (" + std::to_string(samples_for_degrees) + " samples, " + std::to_string(folds) + "-fold)";
    validation_curve.x_label = "polynomial degree (capacity)";
    validation_curve.y_label = "mean squared error (log scale)";
    validation_curve.log_y = true;
    Curve by_degree;
    std::cout << "degree   training MSE (± over folds)   validation MSE (± over folds)\n" << std::fixed;
    for (std::size_t degree = 1; degree <= max_degree; ++degree)
    {
        by_degree.add(few, degree_folds, degree, samples_for_degrees, steps, lr);
        validation_curve.x.push_back(static_cast<double>(degree));
        std::cout << std::setw(6) << degree << std::setprecision(4) << std::setw(14) << by_degree.train.values.back()
                  << " ± " << by_degree.train.spread.back() << std::setw(19) << by_degree.validation.values.back()
                  << " ± " << by_degree.validation.spread.back() << '\n';
    }
    const auto& validation_errors = by_degree.validation.values;
    const std::size_t best =
        std::min_element(validation_errors.begin(), validation_errors.end()) - validation_errors.begin();
    const std::size_t best_degree = best + 1;
    validation_curve.series = {by_degree.train, by_degree.validation};
    validation_curve.markers = {
        {static_cast<double>(best_degree), "best: " + std::to_string(best_degree) + "   underfit ← → overfit"}};
    std::cout << "lowest validation error at degree " << best_degree
              << ": below it the model underfits, above it it overfits\n";

    // The learning curves: error against the training-set size, for a too-simple and a too-flexible model.
    const std::size_t pool = smoke ? 120 : 400;
    const Samples many = noisy_sine(pool, noise, rng);
    const auto size_folds = data::kfold(pool, folds, true, 17);
    const std::size_t largest = size_folds.front().train.size();
    std::vector<double> sizes;
    for (std::size_t size = 10; size < largest; size *= 2)
        sizes.push_back(static_cast<double>(size));
    sizes.push_back(static_cast<double>(largest));
    std::vector<viz::LineChart> learning_curves;
    for (std::size_t degree : {simple, flexible})
    {
        Curve by_size;
        std::cout << "learning curve, degree " << degree << ":";
        for (double size : sizes)
        {
            by_size.add(many, size_folds, degree, static_cast<std::size_t>(size), steps, lr);
            std::cout << "  n=" << static_cast<std::size_t>(size) << " train " << std::setprecision(3)
                      << by_size.train.values.back() << " / validation " << by_size.validation.values.back();
        }
        std::cout << '\n';
        viz::LineChart chart;
        chart.title = "Learning curve, degree " + std::to_string(degree) +
                      (degree < best_degree ? " (high bias)" : " (high variance)");
        chart.x_label = "training samples (log scale)";
        chart.y_label = "mean squared error (log scale)";
        chart.series = {by_size.train, by_size.validation};
        chart.x = sizes;
        chart.log_x = chart.log_y = true;
        learning_curves.push_back(chart);
    }

    const std::filesystem::path out(out_dir);
    std::filesystem::create_directories(out);
    viz::save_svg((out / "bias_variance_validation_curve.svg").string(), {validation_curve}, 640, 380);
    viz::save_svg((out / "bias_variance_learning_curves.svg").string(), learning_curves);
    std::cout << "wrote " << (out / "bias_variance_validation_curve.svg").string() << " and "
              << (out / "bias_variance_learning_curves.svg").string() << " (" << std::setprecision(1)
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s)\n";

    if (smoke)
    {
        // Underfitting at degree 1: its validation error is well above the best; the training error falls with the degree.
        const bool shaped = validation_errors.front() > 1.5 * validation_errors[best] &&
                            by_degree.train.values.back() < by_degree.train.values.front();
        std::cout << (shaped ? "smoke test passed\n" : "smoke test FAILED: the curves do not have their shape\n");
        return shaped ? 0 : 1;
    }
    return 0;
}
