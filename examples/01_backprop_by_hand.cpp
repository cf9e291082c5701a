// 01 — Backpropagation by hand.
//
// What it teaches: backpropagation is the chain rule, applied from the loss backwards, one local
// derivative at a time.  For a tiny two-layer network on scalars,
//
//     h = tanh(w1 * x + b1)        y = w2 * h + b2        L = (y - t)^2
//
// the program prints the forward values, each local derivative, the chain rule multiplied out by hand,
// the gradients xgrad's autograd computes, and central finite differences — side by side, so you can see
// the three agree.  Then it narrates autograd's own backward pass step by step, and writes the graph as
// Graphviz DOT (and PNG when the `dot` program is installed).
//
//     ./01_backprop_by_hand --x 0.5 --target 0.8
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>

#include <xgrad/viz.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    struct Parameters
    {
        double w1, b1, w2, b2;
    };

    // The loss as a plain function, for finite differences.
    double loss_of(const Parameters& p, double x, double t)
    {
        const double h = std::tanh(p.w1 * x + p.b1);
        const double y = p.w2 * h + p.b2;
        return (y - t) * (y - t);
    }

    Tensor<double> scalar(double value, const char* name, bool requires_grad)
    {
        Tensor<double> t(xt::xarray<double>(value), requires_grad);
        t.set_name(name);
        return t;
    }
}

int main(int argc, char** argv)
{
    double x = 0.5, t = 0.8;
    Parameters p{0.7, -0.2, 1.5, 0.1};
    std::string dot_path = "backprop_graph.dot";
    CommandLine cli{"Backpropagation by hand: chain rule, autograd and finite differences side by side"};
    cli.add_option("--x", x, "The input");
    cli.add_option("--target", t, "The target output");
    cli.add_option("--w1", p.w1, "First weight");
    cli.add_option("--w2", p.w2, "Second weight");
    cli.add_option("--dot", dot_path, "Where to write the graph (Graphviz DOT)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    std::cout << std::fixed << std::setprecision(6);
    std::cout << "The network:  h = tanh(w1 x + b1),  y = w2 h + b2,  L = (y - t)^2\n\n";

    // 1. Forward pass, by hand.
    const double z = p.w1 * x + p.b1;
    const double h = std::tanh(z);
    const double y = p.w2 * h + p.b2;
    const double L = (y - t) * (y - t);
    std::cout << "Forward:  z = w1 x + b1 = " << z << "   h = tanh(z) = " << h << "   y = w2 h + b2 = " << y
              << "   L = " << L << "\n\n";

    // 2. Local derivatives: each node's output with respect to its own inputs, nothing more.
    const double dL_dy = 2 * (y - t);    // L = (y - t)^2
    const double dy_dh = p.w2;           // y = w2 h + b2
    const double dy_dw2 = h;
    const double dh_dz = 1 - h * h;      // tanh' = 1 - tanh^2
    const double dz_dw1 = x;             // z = w1 x + b1
    std::cout << "Local derivatives:  dL/dy = 2(y - t) = " << dL_dy << "   dy/dh = w2 = " << dy_dh
              << "   dy/dw2 = h = " << dy_dw2 << "   dh/dz = 1 - h^2 = " << dh_dz << "   dz/dw1 = x = " << dz_dw1
              << "\n\n";

    // 3. The chain rule: multiply the local derivatives along the path from L to each parameter.
    const double by_hand_w2 = dL_dy * dy_dw2;
    const double by_hand_b2 = dL_dy * 1.0;
    const double by_hand_w1 = dL_dy * dy_dh * dh_dz * dz_dw1;
    const double by_hand_b1 = dL_dy * dy_dh * dh_dz * 1.0;

    // 4. Autograd: the same network as tensors; backward() applies the same chain rule mechanically.
    Tensor<double> w1 = scalar(p.w1, "w1", true), b1 = scalar(p.b1, "b1", true);
    Tensor<double> w2 = scalar(p.w2, "w2", true), b2 = scalar(p.b2, "b2", true);
    const Tensor<double> input = scalar(x, "x", false), target = scalar(t, "t", false);
    Tensor<double> hidden = tanh(w1 * input + b1);
    hidden.set_name("h");
    Tensor<double> output = w2 * hidden + b2;
    output.set_name("y");
    Tensor<double> loss = pow(output - target, 2);
    loss.set_name("L");
    std::cout << "Autograd's backward pass, narrated:\n";
    viz::trace_backward(loss, std::cout, /*retain_graph=*/true);

    // 5. Finite differences: nudge one parameter by ±eps and watch the loss.
    const double eps = 1e-6;
    auto numeric = [&](double Parameters::*member) {
        Parameters plus = p, minus = p;
        plus.*member += eps;
        minus.*member -= eps;
        return (loss_of(plus, x, t) - loss_of(minus, x, t)) / (2 * eps);
    };

    std::cout << "\n" << std::setw(10) << "parameter" << std::setw(16) << "chain rule" << std::setw(16) << "autograd"
              << std::setw(18) << "finite diff." << '\n';
    const struct
    {
        const char* name;
        double by_hand;
        const Tensor<double>& tensor;
        double Parameters::*member;
    } rows[] = {{"w1", by_hand_w1, w1, &Parameters::w1},
                {"b1", by_hand_b1, b1, &Parameters::b1},
                {"w2", by_hand_w2, w2, &Parameters::w2},
                {"b2", by_hand_b2, b2, &Parameters::b2}};
    bool agree = true;
    for (const auto& row : rows)
    {
        const double automatic = row.tensor.grad()();
        const double finite = numeric(row.member);
        agree = agree && std::abs(automatic - row.by_hand) < 1e-12 && std::abs(automatic - finite) < 1e-6;
        std::cout << std::setw(10) << row.name << std::setw(16) << row.by_hand << std::setw(16) << automatic
                  << std::setw(18) << finite << '\n';
    }
    std::cout << (agree ? "\nAll three agree.\n" : "\nThey disagree: something is wrong!\n");

    // 6. The graph, as a picture.
    std::ofstream(dot_path) << viz::to_dot(loss);
    std::cout << "Graph written to " << dot_path;
    if (std::system("command -v dot > /dev/null 2>&1") == 0)
    {
        const std::string png = dot_path.substr(0, dot_path.rfind('.')) + ".png";
        if (std::system(("dot -Tpng '" + dot_path + "' -o '" + png + "'").c_str()) == 0)
            std::cout << " and " << png;
    }
    std::cout << '\n';
    return agree ? 0 : 1;
}
