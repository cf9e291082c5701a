// Graphviz export of an autograd graph: each tensor a box with its op (or name), shape, value summary
// and, once backward has run, its gradient; arrows run from inputs to the ops that use them.
//   std::ofstream("graph.dot") << viz::to_dot(loss);    then: dot -Tpng graph.dot -o graph.png
#pragma once

#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "../config.hpp"
#include "../core/tensor.hpp"
#include "summary.hpp"

namespace xgrad::viz
{
    struct DotOptions
    {
        bool show_values = true;
        bool show_grads = true;
        std::string rankdir = "LR";   // left to right; "TB" for top to bottom
    };

    namespace detail
    {
        inline std::string escape(const std::string& text)
        {
            std::string escaped;
            for (char c : text)
            {
                if (c == '"' || c == '\\' || c == '{' || c == '}' || c == '<' || c == '>' || c == '|')
                    escaped += '\\';
                escaped += c;
            }
            return escaped;
        }
    }

    template <class T>
    std::string to_dot(const Tensor<T>& root, const DotOptions& options = {})
    {
        std::ostringstream out;
        out << "digraph xgrad {\n  rankdir=" << options.rankdir << ";\n  node [shape=record, fontname=\"monospace\"];\n";
        std::unordered_map<const void*, std::size_t> ids;
        std::vector<Tensor<T>> stack{root};
        ids[root.node().get()] = 0;
        while (!stack.empty())
        {
            const Tensor<T> tensor = stack.back();
            stack.pop_back();
            const std::size_t id = ids.at(tensor.node().get());
            std::string title = tensor.is_leaf() ? (tensor.requires_grad() ? "parameter" : "input") : tensor.op_name();
            if (!tensor.name().empty())
                title = tensor.name() + (tensor.is_leaf() ? "" : " = " + tensor.op_name());
            out << "  n" << id << " [label=\"{" << detail::escape(title) << " | shape " << shape_string(tensor.shape());
            if (options.show_values)
                out << " | value " << detail::escape(summarize(tensor.value()));
            if (options.show_grads && tensor.has_grad())
                out << " | grad " << detail::escape(summarize(tensor.grad()));
            out << "}\"" << (tensor.is_leaf() && tensor.requires_grad() ? ", style=filled, fillcolor=\"#dde8f7\"" : "")
                << "];\n";
            for (const auto& parent : tensor.parents())
            {
                auto [found, inserted] = ids.try_emplace(parent.node().get(), ids.size());
                if (inserted)
                    stack.push_back(parent);
                out << "  n" << found->second << " -> n" << id << ";\n";
            }
        }
        out << "}\n";
        return out.str();
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_VIZ_DOT_TEMPLATES(EXTERN, T)                                                                            \
    EXTERN template std::string viz::to_dot<T>(const Tensor<T>&, const viz::DotOptions&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_VIZ_DOT_TEMPLATES)
}
