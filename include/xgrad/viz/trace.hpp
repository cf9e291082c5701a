// A narrated backward pass, for learning and debugging: it runs loss.backward() and tells, node by node in
// the order the engine visits them, which op it is, the local derivative rule it applies, the gradient
// that arrives (dL/d output) and the gradients it sends to its inputs.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "../config.hpp"
#include "../core/autograd.hpp"
#include "summary.hpp"

namespace xgrad::viz
{
    // The chain-rule step of each op, in words (y is the op's output, a and b its inputs).
    inline std::string local_rule(const std::string& op)
    {
        static const std::map<std::string, std::string> rules{
            {"add", "y = a + b: dL/da = dL/dy, dL/db = dL/dy (summed over broadcast dims)"},
            {"sub", "y = a - b: dL/da = dL/dy, dL/db = -dL/dy"},
            {"mul", "y = a * b: dL/da = dL/dy * b, dL/db = dL/dy * a"},
            {"div", "y = a / b: dL/da = dL/dy / b, dL/db = -dL/dy * a / b^2"},
            {"neg", "y = -x: dL/dx = -dL/dy"},
            {"pow", "y = a^b: dL/da = dL/dy * b * a^(b-1), dL/db = dL/dy * y * log(a) (b constant: only the first)"},
            {"exp", "y = exp(x): dL/dx = dL/dy * y"},
            {"log", "y = log(x): dL/dx = dL/dy / x"},
            {"sqrt", "y = sqrt(x): dL/dx = dL/dy / (2 y)"},
            {"abs", "y = |x|: dL/dx = dL/dy * sign(x)"},
            {"clamp", "y = clamp(x): dL/dx = dL/dy where x is inside the bounds, else 0"},
            {"relu", "y = max(x, 0): dL/dx = dL/dy where x > 0, else 0"},
            {"leaky_relu", "y = x or slope*x: dL/dx = dL/dy * (1 or slope)"},
            {"sigmoid", "y = 1/(1+exp(-x)): dL/dx = dL/dy * y * (1 - y)"},
            {"tanh", "y = tanh(x): dL/dx = dL/dy * (1 - y^2)"},
            {"softplus", "y = log(1 + exp(beta x)) / beta: dL/dx = dL/dy * sigmoid(beta x)"},
            {"erf", "y = erf(x): dL/dx = dL/dy * 2/sqrt(pi) * exp(-x^2)"},
            {"softmax", "y = softmax(x): dL/dx = y * (dL/dy - sum(dL/dy * y))"},
            {"log_softmax", "y = log_softmax(x): dL/dx = dL/dy - softmax(x) * sum(dL/dy)"},
            {"sum", "y = sum(x): dL/dx = dL/dy copied to every summed element"},
            {"sum_to", "y = x summed down to a shape: dL/dx = dL/dy broadcast back"},
            {"broadcast_to", "y = x broadcast: dL/dx = dL/dy summed over the copies"},
            {"max", "y = max(x): dL/dx = dL/dy at the maximum (shared among ties), else 0"},
            {"min", "y = min(x): dL/dx = dL/dy at the minimum (shared among ties), else 0"},
            {"matmul", "Y = A B: dL/dA = dL/dY B^T, dL/dB = A^T dL/dY"},
            {"reshape", "y = x reshaped: dL/dx = dL/dy reshaped back"},
            {"permute", "y = x with dims reordered: dL/dx = dL/dy with the inverse order"},
            {"narrow", "y = a slice of x: dL/dx = dL/dy in the slice, 0 elsewhere"},
            {"cat", "y = [a, b, ...]: each input gets its own slice of dL/dy"},
            {"gather", "y = x at given indices: dL/dx = dL/dy added back at those indices"},
            {"index_select", "y = rows of x: dL/dx = dL/dy added back into the selected rows"},
            {"where", "y = cond ? a : b: dL/da = dL/dy where cond, dL/db = dL/dy elsewhere"},
        };
        auto found = rules.find(op);
        return found != rules.end() ? found->second : "the backward rule of '" + op + "'";
    }

    // Runs loss.backward() (gradients accumulate into the leaves as usual) and writes the narration to out.
    template <class T>
    void trace_backward(const Tensor<T>& loss, std::ostream& out, bool retain_graph = false)
    {
        std::size_t step = 0;
        auto label = [](const Tensor<T>& t) {
            const std::string what = t.is_leaf() ? (t.requires_grad() ? "parameter" : "input") : t.op_name();
            return (t.name().empty() ? what : t.name() + " (" + what + ")") + " " + shape_string(t.shape());
        };
        const xgrad::detail::BackwardObserver<T> narrate = [&](const Tensor<T>& node, const Tensor<T>& dout,
                                                               const Grads<T>& sent) {
            out << "step " << ++step << ": " << label(node) << '\n';
            out << "    value        " << summarize(node.value()) << '\n';
            out << "    dL/d(this)   " << summarize(dout.value()) << '\n';
            if (node.is_leaf())
            {
                out << "    a leaf: the gradient is accumulated into its .grad\n";
                return;
            }
            out << "    local rule   " << local_rule(node.op_name()) << '\n';
            for (std::size_t i = 0; i < sent.size(); ++i)
                out << "    -> input " << i << " (" << label(node.parents()[i]) << "): "
                    << (sent[i].defined() ? summarize(sent[i].value()) : std::string("no gradient needed")) << '\n';
        };
        const auto seeds = xgrad::detail::seed_gradients(std::vector<Tensor<T>>{loss}, {}, "trace_backward");
        out << "Backward pass from " << label(loss) << ", seeded with dL/dL = 1\n";
        xgrad::detail::run_backward(std::vector<Tensor<T>>{loss}, seeds, retain_graph, false, true, {}, narrate);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_VIZ_TRACE_TEMPLATES(EXTERN, T)                                                                          \
    EXTERN template void viz::trace_backward<T>(const Tensor<T>&, std::ostream&, bool);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_VIZ_TRACE_TEMPLATES)
}
