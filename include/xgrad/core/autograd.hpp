// The reverse-mode engine: Tensor::backward(), backward() and grad().  It walks the graph from the outputs
// in reverse topological order (iteratively: graphs can be 100,000 nodes deep), calls each node's backward
// rule and accumulates the gradients that flow into every input.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../config.hpp"
#include "tensor.hpp"

namespace xgrad
{
    namespace detail
    {
        template <class T>
        using NodePtr = std::shared_ptr<Node<T>>;

        // Every node reachable from `roots` through parents that require a gradient, found without recursion, in
        // an order whose reverse visits each node after every node that uses it.  Nodes follow creation order
        // (an op's inputs exist before its output), except leaves: each is placed just before the earliest-created
        // node that uses it, so that the pass reaches a leaf as soon as its gradient is final (its hooks fire
        // then, while the rest of the pass still runs, not all at the end).
        template <class T>
        std::vector<NodePtr<T>> reachable_in_topological_order(const std::vector<Tensor<T>>& roots)
        {
            std::vector<NodePtr<T>> found;
            std::unordered_set<const Node<T>*> seen;
            std::unordered_map<const Node<T>*, std::uint64_t> first_user;   // leaf -> its earliest user's sequence
            std::vector<const Tensor<T>*> stack;
            for (const auto& root : roots)
                stack.push_back(&root);
            while (!stack.empty())
            {
                const Tensor<T>& tensor = *stack.back();
                stack.pop_back();
                if (!tensor.defined() || !tensor.requires_grad() || !seen.insert(tensor.node().get()).second)
                    continue;
                found.push_back(tensor.node());
                const std::uint64_t user = tensor.node()->sequence;
                for (const auto& parent : tensor.node()->parents)
                {
                    stack.push_back(&parent);
                    if (parent.defined() && parent.is_leaf())
                    {
                        const auto [entry, inserted] = first_user.try_emplace(parent.node().get(), user);
                        entry->second = std::min(entry->second, user);
                    }
                }
            }
            // Sorted by (position, rank, sequence): a node sits at its own sequence number with rank 1, a leaf at
            // its first user's with rank 0, just before that user.
            using Key = std::tuple<std::uint64_t, int, std::uint64_t>;
            std::vector<std::pair<Key, NodePtr<T>>> keyed;
            keyed.reserve(found.size());
            for (auto& node : found)
            {
                const auto user = first_user.find(node.get());
                const Key key = user != first_user.end() ? Key{user->second, 0, node->sequence}
                                                         : Key{node->sequence, 1, node->sequence};
                keyed.emplace_back(key, std::move(node));
            }
            std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            std::vector<NodePtr<T>> order;
            order.reserve(keyed.size());
            for (auto& entry : keyed)
                order.push_back(std::move(entry.second));
            return order;
        }

        // y = a + b for two gradients of one tensor (the same shape)   =>  dL/da = dL/db = dL/dy.
        // The engine's own sum, so that core needs no op from ops/: recorded when the backward pass is.
        template <class T>
        Tensor<T> gradient_sum(const Tensor<T>& a, const Tensor<T>& b)
        {
            return make_result<T>("add", xt::xarray<T>(a.value() + b.value()), {a, b},
                                  [](const Tensor<T>& dout) -> Grads<T> { return {dout, dout}; });
        }

        // gradient += contribution; recorded as an op when the backward pass itself is being recorded.
        template <class T>
        void accumulate(Tensor<T>& gradient, const Tensor<T>& contribution)
        {
            if (!gradient.defined())
                gradient = contribution;
            else if (is_grad_enabled())
                gradient = gradient_sum(gradient, contribution);
            else if (gradient.node().use_count() == 1 && !gradient.requires_grad())
                gradient.mutable_value() += contribution.value();   // sole owner: add in place
            else
                gradient = Tensor<T>(xt::xarray<T>(gradient.value() + contribution.value()));
        }

        template <class T>
        void check_gradient_shape(const Tensor<T>& output, const Tensor<T>& gradient, const char* what)
        {
            if (gradient.value().shape() != output.value().shape())
                throw shape_error(std::string(what) + ": gradient of shape " + shape_string(gradient.shape()) +
                                  " does not match output of shape " + shape_string(output.shape()));
        }

        // The seeds dL/d(output): the given gradients, or 1 for a one-element output.
        template <class T>
        std::vector<Tensor<T>> seed_gradients(const std::vector<Tensor<T>>& outputs,
                                              const std::vector<Tensor<T>>& given, const char* what)
        {
            if (!given.empty() && given.size() != outputs.size())
                throw value_error(std::string(what) + ": got " + std::to_string(given.size()) +
                                  " output gradients for " + std::to_string(outputs.size()) + " outputs");
            std::vector<Tensor<T>> seeds;
            for (std::size_t i = 0; i < outputs.size(); ++i)
            {
                const Tensor<T>& output = outputs[i];
                if (!output.defined() || !output.requires_grad())
                    throw autograd_error(std::string(what) + ": output " + std::to_string(i) +
                                         " does not require grad and has no graph (was it computed under "
                                         "NoGradGuard, or from tensors without requires_grad?)");
                if (!given.empty() && given[i].defined())
                {
                    check_gradient_shape(output, given[i], what);
                    seeds.push_back(given[i]);
                }
                else if (output.numel() == 1)
                    seeds.push_back(Tensor<T>(xt::xarray<T>(xt::ones<T>(output.value().shape()))));
                else
                    throw autograd_error(std::string(what) + ": output " + std::to_string(i) + " has shape " +
                                         shape_string(output.shape()) +
                                         "; a gradient can be implied only for a one-element output, so pass "
                                         "the output's gradient explicitly");
            }
            return seeds;
        }

        // dL/d(tensor) after the tensor's gradient hooks, each of which may replace it by one of the same shape.
        template <class T>
        Tensor<T> run_gradient_hooks(const Tensor<T>& tensor, Tensor<T> gradient)
        {
            const auto replace = [&](const GradientHook<T>& hook, const Tensor<T>& current) {
                Tensor<T> replacement = hook(current);
                if (replacement.defined() && replacement.value().shape() != tensor.value().shape())
                    throw shape_error("register_hook: a hook returned a gradient of shape " +
                                      shape_string(replacement.shape()) + " for a tensor of shape " +
                                      shape_string(tensor.shape()));
                return replacement;
            };
            tensor.node()->gradient_hooks.pass_through(gradient, replace);
            return gradient;
        }

        // Called for every node the backward pass reaches, with the gradient flowing in and the gradients
        // its rule sends to the parents (empty for a leaf): how viz::trace_backward narrates a pass.
        template <class T>
        using BackwardObserver = std::function<void(const Tensor<T>& node, const Tensor<T>& dout, const Grads<T>& sent)>;

        // Runs the backward pass from `outputs` seeded with `seeds`.  When `accumulate_into_leaves`, the
        // gradients of leaves (and retain_grad nodes) are added to their grad(); gradients of the nodes in
        // `captured` are returned by node.
        //
        // When hooks fire.  Each node is visited once, after every node that uses it, so its gradient is then
        // complete: the sum over all its uses in this pass (not what grad() held before).  There its gradient
        // hooks run, before the gradient is captured, added to grad() or handed to the node's backward rule.
        // A leaf is visited right after the backward rule of its earliest-created user: a parameter's hooks
        // fire as soon as the backward of the first op that used it in the forward has run, while the rest of
        // the pass is still to come (the last layer's parameters first).  A leaf's hooks fire only when its
        // gradient is wanted (backward(), or an input of grad()); a tensor the pass does not reach fires none.
        template <class T>
        std::unordered_map<const Node<T>*, Tensor<T>> run_backward(const std::vector<Tensor<T>>& outputs,
                                                                    const std::vector<Tensor<T>>& seeds,
                                                                    bool retain_graph, bool create_graph,
                                                                    bool accumulate_into_leaves,
                                                                    const std::unordered_set<const Node<T>*>& captured,
                                                                    const BackwardObserver<T>& observer = nullptr)
        {
            const std::vector<NodePtr<T>> order = reachable_in_topological_order(outputs);
            std::unordered_map<const Node<T>*, Tensor<T>> pending;   // gradients not yet passed on
            std::unordered_map<const Node<T>*, Tensor<T>> result;
            GradModeGuard mode(create_graph);   // backward rules record only when a graph of them is wanted
            const bool check_anomalies = is_anomaly_enabled();   // read once per pass
            const CheckedBackwardScope checked(check_anomalies);
            for (std::size_t i = 0; i < outputs.size(); ++i)
                accumulate(pending[outputs[i].node().get()], seeds[i]);

            for (auto it = order.rbegin(); it != order.rend(); ++it)
            {
                Node<T>& node = **it;
                auto found = pending.find(&node);
                if (found == pending.end())
                    continue;
                Tensor<T> dout = std::move(found->second);
                pending.erase(found);

                const Tensor<T> self(*it);
                const bool is_leaf = !node.backward && node.parents.empty();
                const bool is_captured = captured.count(&node) != 0;
                if (!is_leaf || is_captured || accumulate_into_leaves)
                    dout = run_gradient_hooks(self, std::move(dout));
                if (is_captured)
                    accumulate(result[&node], dout);
                if (accumulate_into_leaves && (is_leaf || node.retains_grad))
                {
                    Tensor<T> stored = node.grad ? Tensor<T>(std::move(node.grad)) : Tensor<T>();
                    // A first gradient is kept as it is only when nothing else holds it: add hands one dL/dy
                    // to both operands, and a caller's seed stays the caller's, so an in-place change to one
                    // grad (gradient clipping) must reach no other tensor.
                    if (!stored.defined() && !create_graph && (!is_leaf || dout.node().use_count() > 1))
                        stored = Tensor<T>(xt::xarray<T>(dout.value()));
                    else
                        accumulate(stored, dout);   // in place only where nothing else shares the gradient
                    node.grad = stored.node();
                }
                if (is_leaf)
                {
                    if (observer)
                        observer(self, dout, {});
                    continue;
                }
                if (node.graph_released)
                    throw autograd_error(std::string("backward: trying to go through the graph of '") + node.op +
                                         "' a second time, but it was released after the first backward; pass "
                                         "retain_graph = true to the first call if you need to backward twice");

                const Grads<T> parent_grads = [&] {
                    const profiler::Scope timed(node.op, profiler::Pass::backward);
                    return node.backward(dout, self);
                }();
                XGRAD_ASSERT(parent_grads.size() == node.parents.size());
                if (check_anomalies)
                    check_backward_anomaly(self, parent_grads);
                if (observer)
                    observer(self, dout, parent_grads);
                for (std::size_t p = 0; p < node.parents.size(); ++p)
                {
                    const Tensor<T>& parent = node.parents[p];
                    if (!parent.requires_grad() || !parent_grads[p].defined())
                        continue;
                    XGRAD_ASSERT(parent_grads[p].value().shape() == parent.value().shape());
                    accumulate(pending[parent.node().get()], parent_grads[p]);
                }
            }

            if (!retain_graph)
                for (const auto& node : order)
                    if (node->backward)
                    {
                        node->backward = nullptr;
                        node->graph_released = true;
                    }
            return result;
        }
    }

    // Backpropagates from `outputs` and adds dL/dx to x.grad() for every leaf x that requires a gradient.
    // `gradients` are dL/d(output) (implied 1 for one-element outputs).  The graph is released afterwards
    // unless `retain_graph`; with `create_graph` the backward pass is itself recorded (grads of grads).
    template <class T>
    void backward(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& gradients = {},
                  std::optional<bool> retain_graph = std::nullopt, bool create_graph = false)
    {
        const auto seeds = detail::seed_gradients(outputs, gradients, "backward");
        detail::run_backward(outputs, seeds, retain_graph.value_or(create_graph), create_graph, true, {});
    }

    template <class T>
    void backward(const Tensor<T>& output, const Tensor<T>& gradient = Tensor<T>(), bool retain_graph = false,
                  bool create_graph = false)
    {
        backward(std::vector<Tensor<T>>{output}, std::vector<Tensor<T>>{gradient}, retain_graph || create_graph,
                 create_graph);
    }

    template <class T>
    void Tensor<T>::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const
    {
        xgrad::backward(*this, gradient, retain_graph, create_graph);
    }

    // d(sum of outputs · output gradients)/d(input) for each input, returned rather than accumulated.
    // With `create_graph` the results carry a graph, so they can be differentiated again.  An input the
    // outputs do not depend on gets a zero gradient.
    template <class T>
    std::vector<Tensor<T>> grad(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
                                bool create_graph = false, std::optional<bool> retain_graph = std::nullopt,
                                const std::vector<Tensor<T>>& output_gradients = {})
    {
        const auto seeds = detail::seed_gradients(outputs, output_gradients, "grad");
        std::unordered_set<const detail::Node<T>*> captured;
        for (std::size_t i = 0; i < inputs.size(); ++i)
        {
            if (!inputs[i].defined() || !inputs[i].requires_grad())
                throw autograd_error("grad: input " + std::to_string(i) + " does not require grad");
            captured.insert(inputs[i].node().get());
        }
        auto found = detail::run_backward(outputs, seeds, retain_graph.value_or(create_graph), create_graph, false,
                                          captured);
        std::vector<Tensor<T>> grads;
        for (const auto& input : inputs)
        {
            auto it = found.find(input.node().get());
            grads.push_back(it != found.end() ? it->second
                                              : Tensor<T>(xt::xarray<T>(xt::zeros<T>(input.value().shape()))));
        }
        return grads;
    }

    // `grad({y}, {a, b}, true)`: the braced form, for which the vector overload cannot deduce T.
    template <class T>
    std::vector<Tensor<T>> grad(std::initializer_list<Tensor<T>> outputs, std::initializer_list<Tensor<T>> inputs,
                                bool create_graph = false, std::optional<bool> retain_graph = std::nullopt)
    {
        return grad(std::vector<Tensor<T>>(outputs), std::vector<Tensor<T>>(inputs), create_graph, retain_graph);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_CORE_AUTOGRAD_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template void backward<T>(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&,                    \
                                     std::optional<bool>, bool);                                                      \
    EXTERN template void backward<T>(const Tensor<T>&, const Tensor<T>&, bool, bool);                                 \
    EXTERN template std::vector<Tensor<T>> grad<T>(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&,      \
                                                   bool, std::optional<bool>, const std::vector<Tensor<T>>&);         \
    EXTERN template std::vector<Tensor<T>> grad<T>(std::initializer_list<Tensor<T>>,                                  \
                                                   std::initializer_list<Tensor<T>>, bool, std::optional<bool>);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CORE_AUTOGRAD_TEMPLATES)
}
