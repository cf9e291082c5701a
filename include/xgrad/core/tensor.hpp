// Tensor<T>: a cheap, copyable handle to a node of the autograd graph.  A node holds the value, the
// gradient once one has been accumulated, and, for the result of an op, its parents and backward rule.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xio.hpp>

#include "../config.hpp"
#include "../error.hpp"
#include "../profiler.hpp"
#include "anomaly.hpp"
#include "hooks.hpp"
#include "memory.hpp"
#include "op_attributes.hpp"
#include "types.hpp"

// Compiled mode: the SIMD alignment of xtensor's arrays is part of their type, so a program must be compiled
// for the SIMD width of the xgrad_compiled library it links (src/CMakeLists.txt passes both on).
#if defined(XGRAD_COMPILED) && defined(XGRAD_COMPILED_SIMD_ALIGNMENT)
static_assert(XTENSOR_DEFAULT_ALIGNMENT == XGRAD_COMPILED_SIMD_ALIGNMENT,
              "xgrad compiled mode: this program is compiled for another SIMD width than the xgrad_compiled "
              "library it links (see XGRAD_COMPILED_SIMD_ALIGNMENT); compile it with the -march or -m flags "
              "the library was built with");
#endif

namespace xgrad
{
    template <class T>
    class Tensor;

    // The gradients a backward rule returns: one per parent, in order.  An undefined Tensor (default
    // constructed) stands for "no gradient for this parent" (it does not require one).
    template <class T>
    using Grads = std::vector<Tensor<T>>;

    // A backward rule: given dL/d(out) and the op's own output, return dL/d(parent) for every parent.
    template <class T>
    using BackwardFn = std::function<Grads<T>(const Tensor<T>& dout, const Tensor<T>& out)>;

    // A gradient hook (Tensor::register_hook): given dL/d(tensor), returns a replacement, or an undefined
    // Tensor to keep it.
    template <class T>
    using GradientHook = std::function<Tensor<T>(const Tensor<T>& gradient)>;

    // ---------------------------------------------------------------------------------------------
    // Grad mode: thread-local, switched by RAII guards.

    namespace detail
    {
        inline bool& grad_mode_flag()
        {
            thread_local bool enabled = true;
            return enabled;
        }
    }

    // True when ops record the graph (the default); false inside a NoGradGuard.
    inline bool is_grad_enabled() { return detail::grad_mode_flag(); }

    // Sets grad mode for the current scope and restores the previous mode when it ends.
    class GradModeGuard
    {
    public:
        explicit GradModeGuard(bool enabled) : previous_(detail::grad_mode_flag())
        {
            detail::grad_mode_flag() = enabled;
        }
        ~GradModeGuard() { detail::grad_mode_flag() = previous_; }
        GradModeGuard(const GradModeGuard&) = delete;
        GradModeGuard& operator=(const GradModeGuard&) = delete;

    private:
        bool previous_;
    };

    // Inference and parameter updates: ops inside this scope record no graph.
    class NoGradGuard : public GradModeGuard
    {
    public:
        NoGradGuard() : GradModeGuard(false) {}
    };

    // Turns recording back on inside a no-grad scope.
    class EnableGradGuard : public GradModeGuard
    {
    public:
        EnableGradGuard() : GradModeGuard(true) {}
    };

    namespace detail
    {
        // Creation order of nodes.  A node's parents always exist before it, so visiting nodes by
        // decreasing sequence number is a topological order of the reversed graph.
        inline std::uint64_t next_sequence_number()
        {
            static std::atomic<std::uint64_t> counter{0};
            return counter.fetch_add(1, std::memory_order_relaxed);
        }

        template <class T>
        struct Node
        {
            explicit Node(xt::xarray<T> v) : value(std::move(v)), sequence(next_sequence_number()) {}
            ~Node();
            Node(const Node&) = delete;
            Node& operator=(const Node&) = delete;

            xt::xarray<T> value;
            std::shared_ptr<Node> grad;    // dL/d(value), for leaves and for nodes that retain their grad
            std::uint64_t sequence;
            bool requires_grad = false;
            bool retains_grad = false;
            bool graph_released = false;   // backward ran through this node without retain_graph
            const char* op = "leaf";       // the op that produced the value (a string literal: no allocation per node)
            std::string name;              // an optional label, shown in printed graphs and traces
            std::shared_ptr<const OpAttributes> attributes;   // only under RecordOpAttributes (op_attributes.hpp)
            std::vector<Tensor<T>> parents;
            BackwardFn<T> backward;
            HookRegistry<GradientHook<T>> gradient_hooks;
        };
    }

    namespace detail
    {
        // Normalises a dim for a tensor of `ndim` dims (`extra` = 1 where one past the end is allowed).
        inline std::size_t normalize_dim(std::ptrdiff_t dim, std::size_t ndim, const char* op, std::size_t extra = 0)
        {
            const auto n = static_cast<std::ptrdiff_t>(ndim + extra);
            if (dim < -n || dim >= n)
                throw value_error(std::string(op) + ": dim " + std::to_string(dim) + " is out of range for a " +
                                  std::to_string(ndim) + "-d tensor");
            return static_cast<std::size_t>(dim < 0 ? dim + n : dim);
        }
    }

    template <class T>
    class Tensor
    {
        static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                      "xgrad::Tensor<T> holds float or double");

    public:
        using value_type = T;
        using array_type = xt::xarray<T>;

        // An undefined handle (no node): what a backward rule returns for a parent that needs no gradient.
        Tensor() = default;

        // A leaf holding `value`: `Tensor<double> a({{1., 2.}, {3., 4.}}, /*requires_grad=*/true);`
        explicit Tensor(array_type value) : Tensor(std::move(value), false) {}
        // The flag takes a bool and nothing that converts to one: with a plain `bool` parameter,
        // `Tensor<double> x({1., 2.})` was ambiguous, the pair also reading as (value 1., requires_grad 2.).
        template <class Bool, std::enable_if_t<std::is_same<Bool, bool>::value, int> = 0>
        explicit Tensor(array_type value, Bool requires_grad)
            : node_(std::make_shared<detail::Node<T>>(std::move(value)))
        {
            node_->requires_grad = requires_grad;
        }

        bool defined() const { return node_ != nullptr; }

        // --- value and shape ---
        const array_type& value() const { return checked_node().value; }
        // In-place access for optimizers and initialisers; changing the value of a tensor that an
        // unfinished graph still needs gives wrong gradients, as in any framework.
        array_type& mutable_value() const { return checked_node().value; }

        Shape shape() const
        {
            const auto& s = value().shape();
            return Shape(s.begin(), s.end());
        }
        // Extent of one dimension; negative dims count from the end (`shape(-1)` is the last).
        std::size_t shape(std::ptrdiff_t dim) const { return value().shape()[normalize_dim(dim)]; }
        std::size_t ndim() const { return value().dimension(); }
        std::size_t numel() const { return value().size(); }

        // The one element of a tensor with one element.
        T item() const
        {
            if (numel() != 1)
                throw value_error("item: tensor must have exactly one element, got shape " + shape_string(shape()));
            return *value().data();
        }

        // Maps a possibly negative dim onto [0, ndim), or throws value_error naming `op`.
        std::size_t normalize_dim(std::ptrdiff_t dim, const char* op = "tensor") const
        {
            return detail::normalize_dim(dim, ndim(), op);
        }

        // --- autograd state ---
        bool requires_grad() const { return checked_node().requires_grad; }
        // Marks a leaf as a parameter (or not).  Only leaves may change: a result's flag follows its inputs.
        Tensor& requires_grad_(bool requires = true)
        {
            if (!is_leaf())
                throw autograd_error("requires_grad_: only leaf tensors may change requires_grad (this is the "
                                     "result of '" + op_name() + "'; use detach() first)");
            checked_node().requires_grad = requires;
            return *this;
        }
        // A leaf is a tensor no op produced (a parameter or an input), or one that needs no gradient.
        bool is_leaf() const { return !checked_node().backward && checked_node().parents.empty(); }
        // Keep the gradient of this intermediate result in grad() after backward (leaves always keep theirs).
        void retain_grad() const { checked_node().retains_grad = true; }

        bool has_grad() const { return checked_node().grad != nullptr; }
        // dL/d(this), accumulated by backward().
        const array_type& grad() const
        {
            if (!has_grad())
                throw autograd_error("grad: this tensor has no gradient (it does not require grad, backward has "
                                     "not reached it, or it is an intermediate result without retain_grad())");
            return checked_node().grad->value;
        }
        // In-place access for gradient clipping and similar post-processing.
        array_type& mutable_grad() const
        {
            grad();
            return checked_node().grad->value;
        }
        // The gradient as a Tensor: it carries a graph after backward(..., create_graph = true).
        Tensor grad_tensor() const
        {
            grad();
            return Tensor(checked_node().grad);
        }
        void set_grad(const Tensor& gradient) const { checked_node().grad = gradient.node_; }
        // Forgets the accumulated gradient; the next backward starts from zero.
        void zero_grad() const { checked_node().grad.reset(); }

        // Calls `hook(gradient)` whenever a backward pass has computed dL/d(this), before that gradient is
        // added to grad() (leaves, retain_grad) or passed on to the op that produced this tensor; hooks run in
        // the order they were registered.  A hook returns nothing, or a Tensor of this tensor's shape that
        // replaces the gradient (an undefined Tensor keeps it).  When hooks fire: see run_backward.
        template <class Hook>
        HookHandle register_hook(Hook hook) const
        {
            if (!requires_grad())
                throw autograd_error("register_hook: this tensor does not require grad, so no gradient will "
                                     "reach it (call requires_grad_() on a leaf first)");
            return checked_node().gradient_hooks.add(detail::replacing_hook<Tensor, const Tensor&>(std::move(hook)));
        }

        // A new leaf with a copy of the value and no history.
        Tensor detach() const { return Tensor(value()); }

        // Runs backpropagation from this tensor; defined in core/autograd.hpp.
        void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;

        // --- graph introspection (printing, graph export, teaching) ---
        std::string op_name() const { return checked_node().op; }
        const std::string& name() const { return checked_node().name; }
        Tensor& set_name(std::string label)
        {
            checked_node().name = std::move(label);
            return *this;
        }
        const std::vector<Tensor>& parents() const { return checked_node().parents; }

        // The node itself: identity for the engine and graph walkers.
        const std::shared_ptr<detail::Node<T>>& node() const { return node_; }
        explicit Tensor(std::shared_ptr<detail::Node<T>> node) : node_(std::move(node)) {}

    private:
        detail::Node<T>& checked_node() const
        {
            if (!node_)
                throw value_error("tensor: this Tensor handle is undefined (default-constructed)");
            return *node_;
        }

        std::shared_ptr<detail::Node<T>> node_;
    };

    namespace detail
    {
        // Tears a graph down iteratively: the default, recursive destruction of a chain of 100,000 nodes
        // (each owning its parents) would overflow the stack.
        template <class T>
        Node<T>::~Node()
        {
            std::vector<Tensor<T>> pending = std::move(parents);
            backward = nullptr;   // its captured copies of the parents go; `pending` still holds them
            gradient_hooks = {};  // and so do the hooks' (a hook may capture a parent)
            while (!pending.empty())
            {
                Tensor<T> next = std::move(pending.back());
                pending.pop_back();
                Node<T>* node = next.node().get();
                if (node != nullptr && next.node().use_count() == 1)
                {
                    // `next` is the last owner: take its parents before it dies, so it dies shallow.
                    for (auto& parent : node->parents)
                        pending.push_back(std::move(parent));
                    node->parents.clear();
                    node->backward = nullptr;
                }
            }
        }
    }

    template <class T>
    std::ostream& operator<<(std::ostream& out, const Tensor<T>& tensor)
    {
        if (!tensor.defined())
            return out << "tensor(undefined)";
        out << "tensor(" << tensor.value();
        if (!tensor.is_leaf())
            out << ", grad_fn=" << tensor.op_name();
        else if (tensor.requires_grad())
            out << ", requires_grad=true";
        return out << ')';
    }

    // ---------------------------------------------------------------------------------------------
    // Recording an op.

    namespace detail
    {
        template <class T>
        bool any_requires_grad(const std::vector<Tensor<T>>& inputs)
        {
            return std::any_of(inputs.begin(), inputs.end(),
                               [](const Tensor<T>& t) { return t.defined() && t.requires_grad(); });
        }
    }

    // Wraps an op's forward value as a Tensor.  When grad mode is on and some input requires a gradient,
    // the result remembers its parents and `backward`, a callable taking dL/d(out) (and optionally the
    // output itself, to reuse it: d exp(x) = exp(x) dx) and returning one gradient per parent.
    // `op` names the op in printouts, traces and profiles: a string literal, kept by pointer.  Under anomaly
    // mode the value is first checked for NaN and Inf (core/anomaly.hpp).
    template <class T, class Backward>
    Tensor<T> make_result(const char* op, xt::xarray<T> value, std::vector<Tensor<T>> parents, Backward&& backward)
    {
        profiler::record_result_bytes(value.size() * sizeof(T));
        if (is_anomaly_enabled())
            detail::check_forward_anomaly(op, value, parents);
        Tensor<T> result(std::move(value));
        auto& node = *result.node();
        node.op = op;
        if (!is_grad_enabled() || !detail::any_requires_grad(parents))
            return result;
        node.requires_grad = true;
        node.parents = std::move(parents);
        if constexpr (std::is_invocable_v<Backward, const Tensor<T>&, const Tensor<T>&>)
            node.backward = std::forward<Backward>(backward);
        else
            node.backward = [rule = std::forward<Backward>(backward)](const Tensor<T>& dout, const Tensor<T>&) {
                return rule(dout);
            };
        return result;
    }

    // Attaches the attributes `make()` returns to the node of `result`, only while RecordOpAttributes is alive
    // (`make` is not called otherwise): the exporter's record of an op's stride, dims or ids.
    template <class T, class Make>
    Tensor<T> record_attributes(Tensor<T> result, Make&& make)
    {
        if (is_recording_op_attributes())
            result.node()->attributes = std::make_shared<const OpAttributes>(make());
        return result;
    }

    // While RecordOpAttributes is alive, passes the result of a composite op (one built from other ops) through
    // one more node, `op`, whose inputs are the result and then the composite's own inputs, so that a graph
    // walker (the ONNX exporter) can write the composite as one node (BatchNormalization) instead of its parts:
    //   y = result   =>  dL/dresult = dL/dy, and nothing to the other inputs (they get theirs through result)
    template <class T, class Make>
    Tensor<T> record_composite(const char* op, const Tensor<T>& result, std::vector<Tensor<T>> inputs, Make&& make)
    {
        if (!is_recording_op_attributes())
            return result;
        inputs.insert(inputs.begin(), result);
        const std::size_t count = inputs.size();
        Tensor<T> marked = make_result<T>(op, xt::xarray<T>(result.value()), std::move(inputs),
                                          [count](const Tensor<T>& dout) -> Grads<T> {
                                              Grads<T> grads(count);
                                              grads[0] = dout;
                                              return grads;
                                          });
        OpAttributes attributes = make();
        attributes.set_int("composite", 1);
        marked.node()->attributes = std::make_shared<const OpAttributes>(std::move(attributes));
        return marked;
    }

    // A constant (no gradient) with the given value: masks and other non-differentiable factors.
    template <class T>
    Tensor<T> constant(xt::xarray<T> value)
    {
        return Tensor<T>(std::move(value), false);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_CORE_TENSOR_TEMPLATES(EXTERN, T)                                                                        \
    EXTERN template class Tensor<T>;                                                                                  \
    EXTERN template struct detail::Node<T>;                                                                           \
    EXTERN template std::ostream& operator<< <T>(std::ostream&, const Tensor<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CORE_TENSOR_TEMPLATES)
}
