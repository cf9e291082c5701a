// Anomaly mode, as torch.autograd's: while it is on, the first op whose forward output, or whose backward
// rule's gradient for an input, holds a NaN or an Inf throws anomaly_error naming the op, the pass, its input
// shapes and the ops that produced its inputs.  Off (the default) it costs one relaxed atomic load per op.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../config.hpp"
#include "../error.hpp"

namespace xgrad
{
    template <class T>
    class Tensor;

    namespace detail
    {
        // Process-wide, like PyTorch's switch: turned on once in main, it must also cover ops that run on other
        // threads (data-loader workers, the replicas of data-parallel training).  Nothing is published through
        // it, so loads are relaxed: an ordinary load on x86 and ARM, no dearer than a thread-local flag.
        inline std::atomic<bool> anomaly_mode{false};

        // True while this thread's engine runs a checked backward pass.  There the gradients a backward rule
        // returns are checked, not the ops the rule is written with: those report as the rule's own op, in the
        // backward pass, and an intermediate the rule masks away is no anomaly.
        inline bool& in_checked_backward()
        {
            thread_local bool inside = false;
            return inside;
        }
    }

    inline bool is_anomaly_enabled() { return detail::anomaly_mode.load(std::memory_order_relaxed); }
    inline void set_detect_anomaly(bool enabled) { detail::anomaly_mode.store(enabled, std::memory_order_relaxed); }

    // Anomaly mode for a scope, restored to what it was when the scope ends, also when an exception leaves it:
    //     { xgrad::detect_anomaly anomaly;  auto loss = model(x);  loss.backward(); }
    // detect_anomaly(false) turns it off for a scope.  The mode is process-wide (set_detect_anomaly), so guards
    // on two threads at once do not nest.
    class detect_anomaly
    {
    public:
        explicit detect_anomaly(bool enabled = true) : previous_(is_anomaly_enabled()) { set_detect_anomaly(enabled); }
        ~detect_anomaly() { set_detect_anomaly(previous_); }
        detect_anomaly(const detect_anomaly&) = delete;
        detect_anomaly& operator=(const detect_anomaly&) = delete;

    private:
        bool previous_;
    };

    namespace detail
    {
        // Marks a backward pass as checked on this thread (when `active`: the engine makes one per pass).
        class CheckedBackwardScope
        {
        public:
            explicit CheckedBackwardScope(bool active) : active_(active)
            {
                if (active_)
                    previous_ = std::exchange(in_checked_backward(), true);
            }
            ~CheckedBackwardScope()
            {
                if (active_)
                    in_checked_backward() = previous_;
            }
            CheckedBackwardScope(const CheckedBackwardScope&) = delete;
            CheckedBackwardScope& operator=(const CheckedBackwardScope&) = delete;

        private:
            bool active_;
            bool previous_ = false;
        };

        struct NonFiniteCount
        {
            std::size_t nan = 0;
            std::size_t inf = 0;
            bool any() const { return nan + inf > 0; }
        };

        template <class T>
        NonFiniteCount count_non_finite(const xt::xarray<T>& values)
        {
            NonFiniteCount count;
            for (const T value : values.storage())
            {
                count.nan += std::isnan(value) ? 1 : 0;
                count.inf += std::isinf(value) ? 1 : 0;
            }
            return count;
        }

        // "NaN in 2 of 6 elements", "NaN in 1 and Inf in 2 of 6 elements"
        inline std::string describe_non_finite(const NonFiniteCount& count, std::size_t size)
        {
            std::string found;
            if (count.nan > 0)
                found = "NaN in " + std::to_string(count.nan);
            if (count.inf > 0)
                found += (found.empty() ? "Inf in " : " and Inf in ") + std::to_string(count.inf);
            return found + " of " + std::to_string(size) + " elements";
        }

        // How many ops back an anomaly's message follows the inputs, and how many inputs of one op it shows.
        constexpr int producer_levels = 4;
        constexpr std::size_t producer_width = 4;

        template <class T>
        std::string describe_call(const std::string& op, const std::vector<Tensor<T>>& inputs, int levels);

        // Where a tensor came from, as nested calls: "sub(exp('x'), constant (3,)) as 'h'".  A tensor's own
        // name stands for it when it has no recorded producer; past `levels` ops the inputs are "...".
        template <class T>
        std::string describe_producers(const Tensor<T>& tensor, int levels)
        {
            if (!tensor.defined())
                return "undefined";
            const std::string label = tensor.name().empty() ? "" : "'" + tensor.name() + "'";
            if (tensor.parents().empty())   // a leaf, a constant, or an op's result recorded without a graph
            {
                if (!label.empty())
                    return label;
                const std::string op = tensor.op_name();
                const std::string kind = op != "leaf" ? op + " result" : tensor.requires_grad() ? "leaf" : "constant";
                return kind + ' ' + shape_string(tensor.shape());
            }
            const std::string call = describe_call(tensor.op_name(), tensor.parents(), levels);
            return label.empty() ? call : call + " as " + label;
        }

        template <class T>
        std::string describe_call(const std::string& op, const std::vector<Tensor<T>>& inputs, int levels)
        {
            if (levels == 0)
                return op + "(...)";
            std::string call = op + '(';
            for (std::size_t i = 0; i < std::min(inputs.size(), producer_width); ++i)
                call += (i > 0 ? ", " : "") + describe_producers(inputs[i], levels - 1);
            return call + (inputs.size() > producer_width ? ", ...)" : ")");
        }

        // The message's common part: the op applied to where its inputs came from, and the inputs' shapes.
        template <class T>
        [[noreturn]] void throw_anomaly(const std::string& found, const std::string& call,
                                        const std::vector<Tensor<T>>& inputs)
        {
            std::string shapes;
            for (const auto& input : inputs)
                shapes += (shapes.empty() ? "" : ", ") + (input.defined() ? shape_string(input.shape()) : "undefined");
            throw anomaly_error("detect_anomaly: " + found + "\n  op: " + call + "\n  input shapes: " + shapes);
        }

        // In make_result, under anomaly mode: a NaN in an op's output, or an Inf when no input held one (an
        // attention mask's -inf added to the scores is passed on, not produced).
        template <class T>
        void check_forward_anomaly(const char* op, const xt::xarray<T>& output, const std::vector<Tensor<T>>& inputs)
        {
            if (in_checked_backward())
                return;
            const NonFiniteCount found = count_non_finite(output);
            if (!found.any())
                return;
            const bool inf_passed_on =
                found.nan == 0 && std::any_of(inputs.begin(), inputs.end(), [](const auto& input) {
                    return input.defined() && count_non_finite(input.value()).inf > 0;
                });
            if (inf_passed_on)
                return;
            throw_anomaly("'" + std::string(op) + "' returned " + describe_non_finite(found, output.size()) +
                              " of its output, in the forward pass",
                          describe_call(op, inputs, producer_levels), inputs);
        }

        // In the engine, under anomaly mode: any NaN or Inf in the gradients `output`'s backward rule returned.
        template <class T>
        void check_backward_anomaly(const Tensor<T>& output, const std::vector<Tensor<T>>& input_gradients)
        {
            for (std::size_t i = 0; i < input_gradients.size(); ++i)
            {
                if (!input_gradients[i].defined())
                    continue;
                const NonFiniteCount found = count_non_finite(input_gradients[i].value());
                if (found.any())
                    throw_anomaly("'" + output.op_name() + "' returned " +
                                      describe_non_finite(found, input_gradients[i].numel()) +
                                      " of the gradient for its input " + std::to_string(i) + ", in the backward pass",
                                  describe_producers(output, producer_levels), output.parents());
            }
        }
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_CORE_ANOMALY_TEMPLATES(EXTERN, T)                                                                       \
    EXTERN template void detail::check_forward_anomaly<T>(const char*, const xt::xarray<T>&,                          \
                                                          const std::vector<Tensor<T>>&);                             \
    EXTERN template void detail::check_backward_anomaly<T>(const Tensor<T>&, const std::vector<Tensor<T>>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CORE_ANOMALY_TEMPLATES)
}
