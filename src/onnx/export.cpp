// io::export_onnx: the recorded graph of one forward pass, translated node by node into ONNX with the ONNX
// project's own protobuf messages (libonnx), one ONNX node or a few per xgrad op.  The pass is run twice, at
// the example batch size and at one more, so that every shape an op records is known to depend on the batch
// or not: a dynamic batch is written as ONNX's "infer this dim" (-1) where the batch is, never guessed.
#include "xgrad/onnx/export.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "xgrad/io/atomic_file.hpp"
#include "xgrad/kernels/recurrent.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::io
{
    namespace
    {
        using Node = xgrad::detail::Node<float>;
        using Ints = std::vector<std::int64_t>;
        using kernels::RecurrentCell;

        [[noreturn]] void fail(const std::string& what) { throw value_error("export_onnx: " + what); }

        Ints as_ints(const Shape& shape) { return Ints(shape.begin(), shape.end()); }

        const OpAttributes& attributes_of(const Node& node)
        {
            if (!node.attributes)
                fail(std::string("op '") + node.op + "' recorded no attributes to export it by");
            return *node.attributes;
        }

        // The graph one forward pass recorded, in creation order (each node after its inputs), with the nodes
        // each translation reads.
        struct RecordedGraph
        {
            std::vector<const Node*> order;   // every node the outputs need, leaves included
            std::vector<Tensor<float>> outputs;
            std::vector<Tensor<float>> inputs;
        };

        // A node that stands for a composite op (core/tensor.hpp, record_composite): its first input is the
        // composite's result, which the translation does not read; the others are the composite's inputs.
        bool is_composite(const Node& node) { return node.attributes && node.attributes->has("composite"); }

        // A constant of zeros: the initial state a recurrent layer makes when it is given none.
        bool is_zero_constant(const Tensor<float>& t)
        {
            return t.is_leaf() && !t.requires_grad() &&
                   std::all_of(t.value().begin(), t.value().end(), [](float v) { return v == 0.0f; });
        }

        // The tensors the translation of `node` reads: its parents, but for a composite (not its result) and a
        // recurrence started from zeros (no initial state).
        std::vector<const Node*> translated_inputs(const Node& node)
        {
            const std::string op = node.op;
            std::vector<const Node*> inputs;
            for (std::size_t i = is_composite(node) ? 1 : 0; i < node.parents.size(); ++i)
            {
                const bool initial_state =
                    op == "recurrence" && (i == 1 || (i == 3 && attributes_of(node).integer("cell") ==
                                                                    static_cast<std::int64_t>(RecurrentCell::lstm)));
                if (initial_state && is_zero_constant(node.parents[i]))
                    continue;
                inputs.push_back(node.parents[i].node().get());
            }
            return inputs;
        }

        RecordedGraph record(const OnnxForward& forward, const std::vector<Tensor<float>>& example_inputs)
        {
            RecordedGraph graph;
            for (const auto& input : example_inputs)
                graph.inputs.emplace_back(input.value(), true);   // a leaf the ops record their use of
            {
                EnableGradGuard recorded;
                RecordOpAttributes with_attributes;
                graph.outputs = forward(graph.inputs);
            }
            if (graph.outputs.empty())
                fail("the forward pass returned no output");
            std::set<const Node*> seen;
            std::vector<const Node*> stack;
            for (const auto& output : graph.outputs)
            {
                if (!output.defined())
                    fail("the forward pass returned an undefined tensor");
                if (seen.insert(output.node().get()).second)
                    stack.push_back(output.node().get());
            }
            while (!stack.empty())
            {
                const Node* node = stack.back();
                stack.pop_back();
                graph.order.push_back(node);
                if (node->attributes && node->attributes->has("ids_outside_graph"))
                    fail("embedding: ids given as an IndexArray are not part of the recorded graph; pass them in a "
                         "Tensor (Embedding::forward(const Tensor&)) so that they become an input of the file");
                if (node->parents.empty())
                    continue;
                for (const Node* input : translated_inputs(*node))
                    if (seen.insert(input).second)
                        stack.push_back(input);
            }
            std::sort(graph.order.begin(), graph.order.end(),
                      [](const Node* a, const Node* b) { return a->sequence < b->sequence; });
            return graph;
        }

        // An example input with one more row (its first row again), for the second pass.
        Tensor<float> one_row_more(const Tensor<float>& input)
        {
            return Tensor<float>(cat(std::vector<Tensor<float>>{input, narrow(input, 0, 0, 1)}, 0).value());
        }

        // Writes the ONNX graph.
        class Translator
        {
        public:
            explicit Translator(onnx::GraphProto& graph) : graph_(graph) {}

            void name_tensor(const Node* node, std::string name) { names_[node] = std::move(name); }
            bool is_named(const Node* node) const { return names_.count(node) != 0; }
            const std::string& name(const Node* node) const { return names_.at(node); }

            // The tensor `node` (first pass) with `other` (second pass, one more row) beside it.
            void translate(const Node& node, const Node& other)
            {
                const std::string op = node.op;
                if (node.parents.empty())
                {
                    if (node.value.shape() != other.value.shape())
                        fail("a constant of shape " +
                             shape_string(Shape(node.value.shape().begin(), node.value.shape().end())) +
                             (node.op == std::string("leaf") ? "" : std::string(" (made by '") + node.op + "')") +
                             " depends on the batch size, which a file with a dynamic batch cannot hold (export with "
                             "dynamic_batch = false)");
                    name_tensor(&node, constant(node.value));
                    return;
                }
                node_ = &node;
                other_ = &other;
                name_tensor(&node, translate_op(op));
            }

            // A constant of the graph (a mask, a scalar) as an initializer of its own.
            std::string constant(const xt::xarray<float>& value)
            {
                const std::string name = fresh("constant");
                initializer(name, value);
                return name;
            }

            void initializer(const std::string& name, const xt::xarray<float>& value)
            {
                auto& tensor = *graph_.add_initializer();
                tensor.set_name(name);
                tensor.set_data_type(onnx::TensorProto::FLOAT);
                for (const auto extent : value.shape())
                    tensor.add_dims(static_cast<std::int64_t>(extent));
                tensor.set_raw_data(
                    std::string(reinterpret_cast<const char*>(value.data()), value.size() * sizeof(float)));
            }

            std::string identity(const std::string& input, const std::string& output)
            {
                return emit("Identity", {input}, {}, output);
            }

        private:
            using AttributeSetter = std::function<void(onnx::NodeProto&)>;

            std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(counter_++); }

            std::string emit(const std::string& type, const std::vector<std::string>& inputs,
                             const AttributeSetter& set = {}, std::string output = {})
            {
                auto& node = *graph_.add_node();
                node.set_op_type(type);
                node.set_name(fresh(type));
                for (const auto& input : inputs)
                    node.add_input(input);
                if (output.empty())
                    output = fresh(type + "_out");
                node.add_output(output);
                if (set)
                    set(node);
                return output;
            }

            static AttributeSetter ints(const std::string& name, Ints values)
            {
                return [name, values](onnx::NodeProto& node) {
                    auto& a = *node.add_attribute();
                    a.set_name(name);
                    a.set_type(onnx::AttributeProto::INTS);
                    for (const auto v : values)
                        a.add_ints(v);
                };
            }
            static AttributeSetter integer(const std::string& name, std::int64_t value)
            {
                return [name, value](onnx::NodeProto& node) {
                    auto& a = *node.add_attribute();
                    a.set_name(name);
                    a.set_type(onnx::AttributeProto::INT);
                    a.set_i(value);
                };
            }
            static AttributeSetter real(const std::string& name, double value)
            {
                return [name, value](onnx::NodeProto& node) {
                    auto& a = *node.add_attribute();
                    a.set_name(name);
                    a.set_type(onnx::AttributeProto::FLOAT);
                    a.set_f(static_cast<float>(value));
                };
            }
            static AttributeSetter text(const std::string& name, const std::string& value)
            {
                return [name, value](onnx::NodeProto& node) {
                    auto& a = *node.add_attribute();
                    a.set_name(name);
                    a.set_type(onnx::AttributeProto::STRING);
                    a.set_s(value);
                };
            }
            static AttributeSetter texts(const std::string& name, const std::vector<std::string>& values)
            {
                return [name, values](onnx::NodeProto& node) {
                    auto& a = *node.add_attribute();
                    a.set_name(name);
                    a.set_type(onnx::AttributeProto::STRINGS);
                    for (const auto& v : values)
                        a.add_strings(v);
                };
            }
            static AttributeSetter both(AttributeSetter first, AttributeSetter second)
            {
                return [first, second](onnx::NodeProto& node) {
                    first(node);
                    second(node);
                };
            }

            std::string int64_constant(const Ints& values, const Ints& dims)
            {
                auto& tensor = *graph_.add_initializer();
                const std::string name = fresh("ints");
                tensor.set_name(name);
                tensor.set_data_type(onnx::TensorProto::INT64);
                for (const auto d : dims)
                    tensor.add_dims(d);
                for (const auto v : values)
                    tensor.add_int64_data(v);
                return name;
            }
            std::string int64_vector(const Ints& values)
            {
                return int64_constant(values, {static_cast<std::int64_t>(values.size())});
            }
            std::string scalar(float value) { return constant(xt::xarray<float>(value)); }

            std::string input(std::size_t i) const { return name(node_->parents.at(i).node().get()); }
            Shape shape_of(const Node& node) const
            {
                return Shape(node.value.shape().begin(), node.value.shape().end());
            }
            Shape input_shape(std::size_t i) const { return node_->parents.at(i).shape(); }
            Shape output_shape() const { return shape_of(*node_); }

            // The dims of the output that change with the batch size.
            std::vector<bool> batch_dims(const Node& first, const Node& second) const
            {
                std::vector<bool> varies(first.value.dimension(), false);
                if (first.value.dimension() != second.value.dimension())
                    fail(std::string("op '") + first.op + "' gives a result whose rank depends on the batch size");
                for (std::size_t d = 0; d < varies.size(); ++d)
                    varies[d] = first.value.shape()[d] != second.value.shape()[d];
                return varies;
            }

            // A shape for Reshape: static, with -1 for the one dim that holds the batch.
            std::string reshape_target()
            {
                Ints target = as_ints(output_shape());
                const auto varies = batch_dims(*node_, *other_);
                const auto count = std::count(varies.begin(), varies.end(), true);
                if (count > 1)
                    fail("reshape to " + shape_string(output_shape()) + " spreads the batch over several dims");
                for (std::size_t d = 0; d < varies.size(); ++d)
                    if (varies[d])
                        target[d] = -1;
                return int64_vector(target);
            }

            // A dim given by an op (a slice's, a concatenation's) must not be one that holds the batch.
            void require_static(std::size_t parent, std::size_t dim, const char* what)
            {
                const Node& first = *node_->parents.at(parent).node();
                const Node& second = *other_->parents.at(parent).node();
                if (first.value.shape()[dim] != second.value.shape()[dim])
                    fail(std::string(node_->op) + ": " + what + " along dim " + std::to_string(dim) +
                         ", which holds the batch, cannot be written for a dynamic batch (export with "
                         "dynamic_batch = false)");
            }

            std::string translate_op(const std::string& op);
            std::string translate_recurrence();

            onnx::GraphProto& graph_;
            std::unordered_map<const Node*, std::string> names_;
            std::size_t counter_ = 0;
            const Node* node_ = nullptr;    // the node being translated (first pass)
            const Node* other_ = nullptr;   // the same node in the second pass
        };

        std::string Translator::translate_op(const std::string& op)
        {
            static const std::map<std::string, std::string> binary{
                {"add", "Add"}, {"sub", "Sub"}, {"mul", "Mul"}, {"div", "Div"}};
            static const std::map<std::string, std::string> unary{
                {"neg", "Neg"}, {"exp", "Exp"},   {"log", "Log"},         {"sqrt", "Sqrt"}, {"abs", "Abs"},
                {"erf", "Erf"}, {"tanh", "Tanh"}, {"sigmoid", "Sigmoid"}, {"relu", "Relu"}};
            if (const auto found = binary.find(op); found != binary.end())
                return emit(found->second, {input(0), input(1)});
            if (const auto found = unary.find(op); found != unary.end())
                return emit(found->second, {input(0)});
            if (op == "pow")
                return node_->parents.size() == 2
                           ? emit("Pow", {input(0), input(1)})
                           : emit("Pow",
                                  {input(0), scalar(static_cast<float>(attributes_of(*node_).real("exponent")))});
            if (op == "leaky_relu")
                return emit("LeakyRelu", {input(0)}, real("alpha", attributes_of(*node_).real("negative_slope")));
            if (op == "softplus")
            {
                // y = x where beta x > threshold, else log(1 + exp(beta x)) / beta
                const auto& a = attributes_of(*node_);
                const float beta = static_cast<float>(a.real("beta"));
                const std::string scaled = beta == 1.0f ? input(0) : emit("Mul", {input(0), scalar(beta)});
                std::string smooth = emit("Softplus", {scaled});
                if (beta != 1.0f)
                    smooth = emit("Div", {smooth, scalar(beta)});
                const std::string above = emit("Greater", {scaled, scalar(static_cast<float>(a.real("threshold")))});
                return emit("Where", {above, input(0), smooth});
            }
            if (op == "gelu")   // opset 17 has no Gelu: x · (1 + erf(x / sqrt 2)) / 2
            {
                const std::string cdf2 =
                    emit("Add", {emit("Erf", {emit("Mul", {input(0), scalar(0.70710678118654752f)})}), scalar(1.0f)});
                return emit("Mul", {emit("Mul", {input(0), cdf2}), scalar(0.5f)});
            }
            if (op == "clamp")
            {
                const auto& a = attributes_of(*node_);
                return emit("Clip", {input(0), scalar(static_cast<float>(a.real("min"))),
                                     scalar(static_cast<float>(a.real("max")))});
            }
            if (op == "softmax" || op == "log_softmax")
                return emit(op == "softmax" ? "Softmax" : "LogSoftmax", {input(0)},
                            integer("axis", attributes_of(*node_).integer("dim")));
            if (op == "sum")
            {
                const auto& a = attributes_of(*node_);
                return emit("ReduceSum", {input(0), int64_vector(a.ints("dims"))},
                            integer("keepdims", a.integer("keepdims")));
            }
            if (op == "max" || op == "min")
            {
                const auto& a = attributes_of(*node_);
                return emit(op == "max" ? "ReduceMax" : "ReduceMin", {input(0)},
                            both(ints("axes", a.ints("dims")), integer("keepdims", a.integer("keepdims"))));
            }
            if (op == "reshape")
                return emit("Reshape", {input(0), reshape_target()});
            if (op == "permute")
                return emit("Transpose", {input(0)}, ints("perm", attributes_of(*node_).ints("dims")));
            if (op == "narrow")
            {
                const auto& a = attributes_of(*node_);
                const std::int64_t dim = a.integer("dim"), start = a.integer("start");
                require_static(0, static_cast<std::size_t>(dim), "a slice");
                return emit("Slice", {input(0), int64_vector({start}), int64_vector({start + a.integer("length")}),
                                      int64_vector({dim})});
            }
            if (op == "cat")
            {
                std::vector<std::string> inputs;
                for (std::size_t i = 0; i < node_->parents.size(); ++i)
                    inputs.push_back(input(i));
                return emit("Concat", inputs, integer("axis", attributes_of(*node_).integer("dim")));
            }
            if (op == "index_select")
            {
                const auto& a = attributes_of(*node_);
                require_static(0, static_cast<std::size_t>(a.integer("dim")), "picking rows");
                return emit("Gather", {input(0), int64_vector(a.ints("index"))}, integer("axis", a.integer("dim")));
            }
            if (op == "gather")
            {
                const auto& a = attributes_of(*node_);
                require_static(0, static_cast<std::size_t>(a.integer("dim")), "gathered indices");
                if (batch_dims(*node_, *other_) != std::vector<bool>(node_->value.dimension(), false))
                    fail("gather: an index array of the example's batch size cannot be written for a dynamic batch");
                return emit("GatherElements", {input(0), int64_constant(a.ints("index"), a.ints("index_shape"))},
                            integer("axis", a.integer("dim")));
            }
            if (op == "where")
            {
                const auto& a = attributes_of(*node_);
                auto& tensor = *graph_.add_initializer();
                const std::string condition = fresh("condition");
                tensor.set_name(condition);
                tensor.set_data_type(onnx::TensorProto::BOOL);
                for (const auto d : a.ints("condition_shape"))
                    tensor.add_dims(d);
                for (const auto v : a.ints("condition"))
                    tensor.add_int32_data(v != 0);
                if (a.ints("condition").size() != other_->attributes->ints("condition").size())
                    fail("where: a condition of the example's batch size cannot be written for a dynamic batch");
                return emit("Where", {condition, input(0), input(1)});
            }
            if (op == "broadcast_to")
            {
                // Expand broadcasts both ways, so a 1 keeps the input's own extent (the batch among them).
                const Shape from = input_shape(0), to = output_shape();
                Ints target = as_ints(to);
                const std::size_t lead = to.size() - from.size();
                const auto varies = batch_dims(*node_, *other_);
                for (std::size_t d = 0; d < to.size(); ++d)
                {
                    if (d >= lead && from[d - lead] == to[d])
                        target[d] = 1;
                    else if (varies[d])
                        fail("broadcast_to " + shape_string(to) + " broadcasts along the batch dim");
                }
                return emit("Expand", {input(0), int64_vector(target)});
            }
            if (op == "sum_to")
            {
                const Shape from = input_shape(0), to = output_shape();
                const std::size_t lead = from.size() - to.size();
                Ints axes;
                for (std::size_t d = 0; d < from.size(); ++d)
                    if (d < lead || from[d] != to[d - lead])
                        axes.push_back(static_cast<std::int64_t>(d));
                std::string summed = emit("ReduceSum", {input(0), int64_vector(axes)}, integer("keepdims", 1));
                return lead == 0 ? summed : emit("Reshape", {summed, reshape_target()});
            }
            if (op == "matmul")
            {
                const auto& a = attributes_of(*node_);
                auto operand = [&](std::size_t i, bool transposed) {
                    if (!transposed)
                        return input(i);
                    const std::size_t rank = node_->parents[i].ndim();
                    Ints perm(rank);
                    for (std::size_t d = 0; d < rank; ++d)
                        perm[d] = static_cast<std::int64_t>(d);
                    std::swap(perm[rank - 1], perm[rank - 2]);
                    return emit("Transpose", {input(i)}, ints("perm", perm));
                };
                return emit("MatMul", {operand(0, a.integer("trans_a") != 0), operand(1, a.integer("trans_b") != 0)});
            }
            if (op == "conv2d" || op == "conv2d_input_grad")
            {
                const auto& a = attributes_of(*node_);
                const Ints stride = a.ints("stride"), padding = a.ints("padding"), dilation = a.ints("dilation");
                const Shape weight = input_shape(1);
                AttributeSetter set = both(both(ints("kernel_shape", {static_cast<std::int64_t>(weight[2]),
                                                                      static_cast<std::int64_t>(weight[3])}),
                                                ints("strides", stride)),
                                           both(both(ints("pads", {padding[0], padding[1], padding[0], padding[1]}),
                                                     ints("dilations", dilation)),
                                                integer("group", a.integer("groups"))));
                std::vector<std::string> inputs;
                for (std::size_t i = 0; i < node_->parents.size(); ++i)
                    inputs.push_back(input(i));
                if (op == "conv2d")
                    return emit("Conv", inputs, set);
                // The transposed convolution: out = (in - 1)·s - 2p + d·(k - 1) + 1 + output_padding
                const Shape in = input_shape(0), out = output_shape();
                Ints output_padding(2);
                for (std::size_t d = 0; d < 2; ++d)
                    output_padding[d] = static_cast<std::int64_t>(out[2 + d]) -
                                        ((static_cast<std::int64_t>(in[2 + d]) - 1) * stride[d] - 2 * padding[d] +
                                         dilation[d] * (static_cast<std::int64_t>(weight[2 + d]) - 1) + 1);
                return emit("ConvTranspose", inputs, both(set, ints("output_padding", output_padding)));
            }
            if (op == "max_pool2d" || op == "avg_pool2d")
            {
                const auto& a = attributes_of(*node_);
                const Ints padding = a.ints("padding");
                AttributeSetter set =
                    both(both(ints("kernel_shape", a.ints("kernel")), ints("strides", a.ints("stride"))),
                         ints("pads", {padding[0], padding[1], padding[0], padding[1]}));
                if (op == "max_pool2d")
                    return emit("MaxPool", {input(0)}, set);
                return emit("AveragePool", {input(0)}, both(set, integer("count_include_pad", 1)));
            }
            if (op == "adaptive_avg_pool2d")
            {
                const Shape in = input_shape(0), out = output_shape();
                if (out[2] == 1 && out[3] == 1)
                    return emit("GlobalAveragePool", {input(0)});
                if (in[2] % out[2] != 0 || in[3] % out[3] != 0)
                    fail("adaptive_avg_pool2d from " + shape_string(in) + " to " + shape_string(out) +
                         ": only bins of one size (input a multiple of the output) map to AveragePool");
                const Ints kernel{static_cast<std::int64_t>(in[2] / out[2]), static_cast<std::int64_t>(in[3] / out[3])};
                return emit("AveragePool", {input(0)}, both(ints("kernel_shape", kernel), ints("strides", kernel)));
            }
            if (op == "layer_norm")
            {
                const auto& a = attributes_of(*node_);
                const std::int64_t k = a.integer("normalized_dims");
                const Ints affine = a.ints("affine");
                const Shape shape = input_shape(0);
                std::vector<std::string> inputs{input(0)};
                std::size_t next = 1;
                if (affine[0])
                    inputs.push_back(input(next++));
                else
                    inputs.push_back(constant(xt::ones<float>(Shape(shape.end() - k, shape.end()))));
                if (affine[1])
                    inputs.push_back(input(next));
                return emit("LayerNormalization", inputs, both(integer("axis", -k), real("epsilon", a.real("eps"))));
            }
            if (op == "embedding")   // composite (weight, ids)
                return emit("Gather", {input(1), emit("Cast", {input(2)}, integer("to", onnx::TensorProto::INT64))},
                            integer("axis", 0));
            if (op == "batch_norm")   // composite (input, running_mean, running_var, [weight], [bias]), eval
            {
                const auto& a = attributes_of(*node_);
                const Ints affine = a.ints("affine");
                const std::size_t channels = input_shape(1)[1];
                std::size_t next = 4;
                const std::string scale = affine[0] ? input(next++) : constant(xt::ones<float>({channels}));
                const std::string shift = affine[1] ? input(next) : constant(xt::zeros<float>({channels}));
                return emit("BatchNormalization", {input(1), scale, shift, input(2), input(3)},
                            real("epsilon", a.real("eps")));
            }
            if (op == "recurrence")
                return translate_recurrence();
            fail("op '" + op + "' has no ONNX mapping");
        }

        // recurrence(cell, input_gates (L, N, G·H), h0, c0, W_hh, b_hh) -> states (S, L, N, H), as ONNX's RNN, GRU
        // or LSTM run on X = input_gates with W the identity (in ONNX's gate order): the input projection is
        // already in input_gates.  ONNX's LSTM gives the cell state of the last step only, so the states' c plane
        // holds that state at every step, and the export refuses a graph that reads c at another step.
        std::string Translator::translate_recurrence()
        {
            const auto& a = attributes_of(*node_);
            if (!a.ints("lengths").empty())
                fail("recurrence: sequence lengths are per example, not part of the model; export without lengths");
            const auto cell = static_cast<RecurrentCell>(a.integer("cell"));
            const bool lstm = cell == RecurrentCell::lstm, gru = cell == RecurrentCell::gru;
            const bool reverse = a.integer("reverse") != 0;
            const Tensor<float>& gates_in = node_->parents[0];
            const Tensor<float>& h0 = node_->parents[1];
            const Tensor<float>& weight_hh = node_->parents[2];
            const Tensor<float>* c0 = lstm ? &node_->parents[3] : nullptr;
            const Tensor<float>* bias_hh = node_->parents.size() > (lstm ? 4u : 3u) ? &node_->parents.back() : nullptr;
            const std::size_t hidden = weight_hh.shape(1), width = weight_hh.shape(0);

            // xgrad's (PyTorch's) gate blocks, in ONNX's order: LSTM i f g o -> i o f c, GRU r z n -> z r h.
            const std::vector<std::size_t> blocks = lstm  ? std::vector<std::size_t>{0, 3, 1, 2}
                                                    : gru ? std::vector<std::size_t>{1, 0, 2}
                                                          : std::vector<std::size_t>{0};
            Ints rows;
            for (const std::size_t block : blocks)
                for (std::size_t j = 0; j < hidden; ++j)
                    rows.push_back(static_cast<std::int64_t>(block * hidden + j));
            xt::xarray<float> identity = xt::zeros<float>({std::size_t(1), width, width});   // (1, G·H, G·H)
            for (std::size_t i = 0; i < width; ++i)
                identity(0, i, static_cast<std::size_t>(rows[i])) = 1.0f;
            const std::string order = int64_vector(rows);
            const std::string recurrent =
                emit("Unsqueeze",
                     {emit("Gather", {name(weight_hh.node().get()), order}, integer("axis", 0)), int64_vector({0})});
            std::string bias;
            if (bias_hh)
            {
                const std::string hh = emit("Gather", {name(bias_hh->node().get()), order}, integer("axis", 0));
                bias = emit("Unsqueeze", {emit("Concat", {constant(xt::zeros<float>({width})), hh}, integer("axis", 0)),
                                          int64_vector({0})});
            }
            auto initial = [&](const Tensor<float>& state) {
                return is_zero_constant(state) ? std::string()
                                               : emit("Unsqueeze", {name(state.node().get()), int64_vector({0})});
            };
            std::vector<std::string> inputs{
                name(gates_in.node().get()), constant(identity), recurrent, bias, "", initial(h0)};
            if (lstm)
                inputs.push_back(initial(*c0));
            while (inputs.back().empty())
                inputs.pop_back();

            auto& node = *graph_.add_node();
            const std::string type = lstm ? "LSTM" : gru ? "GRU" : "RNN";
            node.set_op_type(type);
            node.set_name(fresh(type));
            for (const auto& in : inputs)
                node.add_input(in);
            const std::string all_h = fresh(type + "_Y"), last_h = fresh(type + "_Y_h"), last_c = fresh(type + "_Y_c");
            node.add_output(all_h);
            if (lstm)
            {
                node.add_output(last_h);
                node.add_output(last_c);
            }
            integer("hidden_size", static_cast<std::int64_t>(hidden))(node);
            text("direction", reverse ? "reverse" : "forward")(node);
            if (gru)
                integer("linear_before_reset", 1)(node);
            if (cell == RecurrentCell::rnn_relu)
                texts("activations", {"Relu"})(node);

            const std::string h_steps = emit("Squeeze", {all_h, int64_vector({1})});   // (L, N, H)
            const std::string h_plane = emit("Unsqueeze", {h_steps, int64_vector({0})});
            if (!lstm)
                return h_plane;
            const std::string c_steps = emit("Expand", {last_c, emit("Shape", {h_steps})});
            return emit("Concat", {h_plane, emit("Unsqueeze", {c_steps, int64_vector({0})})}, integer("axis", 0));
        }

        // ONNX's LSTM gives the last cell state only: every read of the c plane of an LSTM recurrence must be a
        // slice of the step where the run ends.
        void check_cell_state_reads(const RecordedGraph& graph)
        {
            std::unordered_map<const Node*, std::vector<const Node*>> users;
            for (const Node* node : graph.order)
                for (const auto& parent : node->parents)
                    users[parent.node().get()].push_back(node);
            for (const Node* node : graph.order)
            {
                if (node->op != std::string("recurrence") ||
                    attributes_of(*node).integer("cell") != static_cast<std::int64_t>(RecurrentCell::lstm))
                    continue;
                const std::int64_t steps = static_cast<std::int64_t>(node->value.shape()[1]);
                const std::int64_t last = attributes_of(*node).integer("reverse") ? 0 : steps - 1;
                for (const Node* user : users[node])
                {
                    const bool plane_slice = user->op == std::string("narrow") && user->attributes &&
                                             user->attributes->integer("dim") == 0 &&
                                             user->attributes->integer("length") == 1;
                    if (!plane_slice)
                        fail("recurrence: the LSTM's states are read other than by plane");
                    if (user->attributes->integer("start") == 0)
                        continue;
                    const bool is_output =
                        std::any_of(graph.outputs.begin(), graph.outputs.end(),
                                    [user](const Tensor<float>& t) { return t.node().get() == user; });
                    if (is_output)
                        fail("recurrence: the LSTM's cell state at every step is an output, which ONNX's LSTM does "
                             "not give");
                    for (const Node* reader : users[user])
                        if (reader->op != std::string("narrow") || !reader->attributes ||
                            reader->attributes->integer("dim") != 1 || reader->attributes->integer("start") != last ||
                            reader->attributes->integer("length") != 1)
                            fail(
                                "recurrence: the LSTM's cell state is read at a step other than the last, which ONNX's "
                                "LSTM does not give");
                }
            }
        }

        // A graph input's or output's type: float, its dims those of the example but the batch ("batch").
        void add_value_info(onnx::ValueInfoProto& info, const std::string& name, const Shape& shape,
                            const Shape& wider_shape)
        {
            info.set_name(name);
            auto& tensor = *info.mutable_type()->mutable_tensor_type();
            tensor.set_elem_type(onnx::TensorProto::FLOAT);
            auto& dims = *tensor.mutable_shape();
            for (std::size_t d = 0; d < shape.size(); ++d)
            {
                auto& dim = *dims.add_dim();
                if (shape[d] != wider_shape[d])
                    dim.set_dim_param("batch");
                else
                    dim.set_dim_value(static_cast<std::int64_t>(shape[d]));
            }
        }

        std::vector<std::string> names_or_default(const std::vector<std::string>& given, std::size_t count,
                                                  const std::string& stem, const char* what)
        {
            if (!given.empty() && given.size() != count)
                fail(std::string("got ") + std::to_string(given.size()) + " " + what + " names for " +
                     std::to_string(count) + " " + what + "s");
            if (!given.empty())
                return given;
            if (count == 1)
                return {stem};
            std::vector<std::string> names;
            for (std::size_t i = 0; i < count; ++i)
                names.push_back(stem + "_" + std::to_string(i));
            return names;
        }

        // The module in evaluation mode with every parameter and buffer marked as requiring a gradient, so that
        // each op that reads one records it; both restored when the export ends, however it ends.
        class ExportState
        {
        public:
            explicit ExportState(nn::Module<float>& module) : module_(module), training_(module.is_training())
            {
                module.eval();
                parameters_ = module.named_parameters();
                buffers_ = module.named_buffers();
                for (auto* list : {&parameters_, &buffers_})
                    for (auto& [name, tensor] : *list)
                    {
                        flags_.push_back(tensor.requires_grad());
                        tensor.requires_grad_(true);
                    }
            }
            ~ExportState()
            {
                std::size_t i = 0;
                for (auto* list : {&parameters_, &buffers_})
                    for (auto& entry : *list)
                        entry.second.requires_grad_(flags_[i++]);
                module_.train(training_);
            }
            ExportState(const ExportState&) = delete;
            ExportState& operator=(const ExportState&) = delete;

            std::map<const Node*, std::string> names() const
            {
                std::map<const Node*, std::string> names;
                for (const auto* list : {&parameters_, &buffers_})
                    for (const auto& [name, tensor] : *list)
                        names.emplace(tensor.node().get(), name);
                return names;
            }

        private:
            nn::Module<float>& module_;
            bool training_;
            nn::Module<float>::NamedTensors parameters_, buffers_;
            std::vector<bool> flags_;
        };
    }

    void export_onnx(nn::Module<float>& module, const OnnxForward& forward,
                     const std::vector<Tensor<float>>& example_inputs, const std::string& path,
                     const OnnxExportOptions& options)
    {
        if (example_inputs.empty())
            fail("needs at least one example input");
        for (const auto& input : example_inputs)
        {
            if (!input.defined() || input.numel() == 0)
                fail("an example input is undefined or empty");
            if (options.dynamic_batch && input.ndim() == 0)
                fail("a dynamic batch needs example inputs with a batch dim (dim 0)");
        }
        const auto input_names = names_or_default(options.input_names, example_inputs.size(), "input", "input");

        const ExportState state(module);
        const RecordedGraph graph = record(forward, example_inputs);
        check_cell_state_reads(graph);
        // The second pass, one row more, shows which dims of each result hold the batch.
        RecordedGraph wider = graph;
        if (options.dynamic_batch)
        {
            std::vector<Tensor<float>> inputs;
            for (const auto& input : example_inputs)
                inputs.push_back(one_row_more(input));
            wider = record(forward, inputs);
            bool same = wider.order.size() == graph.order.size();
            for (std::size_t i = 0; same && i < graph.order.size(); ++i)
                same = std::strcmp(graph.order[i]->op, wider.order[i]->op) == 0;
            if (!same)
                fail("the recorded graph changes with the batch size, so it cannot be written with a dynamic batch "
                     "(export with dynamic_batch = false)");
        }
        const auto output_names = names_or_default(options.output_names, graph.outputs.size(), "output", "output");

        onnx::ModelProto model;
        model.set_ir_version(onnx_ir_version);
        model.set_producer_name("xgrad");
        model.set_producer_version(std::to_string(XGRAD_VERSION_MAJOR) + "." + std::to_string(XGRAD_VERSION_MINOR) +
                                   "." + std::to_string(XGRAD_VERSION_PATCH));
        auto& opset = *model.add_opset_import();
        opset.set_domain("");
        opset.set_version(onnx_opset_version);
        auto& onnx_graph = *model.mutable_graph();
        onnx_graph.set_name(options.graph_name);

        Translator translator(onnx_graph);
        for (std::size_t i = 0; i < graph.inputs.size(); ++i)
        {
            translator.name_tensor(graph.inputs[i].node().get(), input_names[i]);
            add_value_info(*onnx_graph.add_input(), input_names[i], graph.inputs[i].shape(), wider.inputs[i].shape());
        }
        const auto parameter_names = state.names();
        for (std::size_t i = 0; i < graph.order.size(); ++i)
        {
            const Node* node = graph.order[i];
            if (translator.is_named(node))
                continue;
            if (const auto found = parameter_names.find(node); found != parameter_names.end())
            {
                translator.name_tensor(node, found->second);
                translator.initializer(found->second, node->value);
                continue;
            }
            translator.translate(*node, *wider.order[i]);
        }
        for (std::size_t i = 0; i < graph.outputs.size(); ++i)
        {
            translator.identity(translator.name(graph.outputs[i].node().get()), output_names[i]);
            if (graph.outputs[i].ndim() != wider.outputs[i].ndim())
                fail("the rank of output " + output_names[i] + " changes with the batch size");
            add_value_info(*onnx_graph.add_output(), output_names[i], graph.outputs[i].shape(),
                           wider.outputs[i].shape());
        }

        std::string bytes;
        if (!model.SerializeToString(&bytes))
            throw io_error("export_onnx: could not serialise the model for " + path);
        AtomicFileWriter file(path, "export_onnx");
        file.write(bytes.data(), bytes.size());
        file.commit();
    }

    void export_onnx(nn::Module<float>& module, const std::vector<Tensor<float>>& example_inputs,
                     const std::string& path, const OnnxExportOptions& options)
    {
        if (example_inputs.size() != 1)
            fail("a module is called on one input, got " + std::to_string(example_inputs.size()) +
                 " example inputs (give a forward function for several)");
        export_onnx(
            module,
            [&module](const std::vector<Tensor<float>>& inputs) {
                return std::vector<Tensor<float>>{module(inputs[0])};
            },
            example_inputs, path, options);
    }
}
