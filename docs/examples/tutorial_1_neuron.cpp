// Tutorial step 1: one neuron on scalars, its graph, and the backward pass as the engine runs it.
//   y = tanh(w x + b)      L = (y - t)^2
#include <fstream>
#include <iostream>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

int main()
{
    Tensor<double> x(xt::xarray<double>(0.5)), t(xt::xarray<double>(0.8));
    Tensor<double> w(xt::xarray<double>(0.7), true), b(xt::xarray<double>(-0.2), true);
    x.set_name("x");
    t.set_name("t");
    w.set_name("w");
    b.set_name("b");

    Tensor<double> z = w * x + b;
    z.set_name("z");
    Tensor<double> y = tanh(z);
    y.set_name("y");
    Tensor<double> loss = pow(y - t, 2);
    loss.set_name("L");

    viz::trace_backward(loss, std::cout, /*retain_graph=*/true);
    std::cout << "\nw.grad() = " << w.grad() << "   b.grad() = " << b.grad() << '\n';

    std::ofstream("neuron.dot") << viz::to_dot(loss);   // dot -Tpng neuron.dot -o neuron.png
}
