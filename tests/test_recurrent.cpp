// Recurrent layers: the fused step kernels against their references, gradcheck of the recurrence op, the
// cells and the layers (initial states, two layers, both directions, lengths), agreement with PyTorch 1.13
// (fixtures from scripts/make_recurrent_fixtures.py), padded batches against their sequences run one by one,
// dropout between layers, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;
using json = nlohmann::ordered_json;   // keeps the state dict's order
using kernels::RecurrentCell;

namespace
{
    const RecurrentCell all_cells[] = {RecurrentCell::rnn_tanh, RecurrentCell::rnn_relu, RecurrentCell::lstm,
                                       RecurrentCell::gru};

    // The SIMD step and its reference on the same random operands, forward then backward.
    template <class T>
    void check_step_kernels(RecurrentCell cell, std::size_t rows, std::size_t hidden)
    {
        CAPTURE(static_cast<int>(cell));
        CAPTURE(rows);
        CAPTURE(hidden);
        std::mt19937 rng(static_cast<unsigned>(rows * 131 + hidden));
        const std::size_t gates = kernels::gate_count(cell) * hidden, saved = kernels::saved_count(cell) * hidden;
        const auto input_gates = random_values<T>(rows * gates, T(-2), T(2), rng);
        const auto hidden_gates = random_values<T>(rows * gates, T(-2), T(2), rng);
        const auto hidden_prev = random_values<T>(rows * hidden, T(-1), T(1), rng);
        const auto cell_prev = random_values<T>(rows * hidden, T(-1), T(1), rng);
        std::vector<T> saved_fast(rows * saved), saved_ref(rows * saved);
        std::vector<T> h_fast(rows * hidden), h_ref(rows * hidden), c_fast(rows * hidden), c_ref(rows * hidden);
        kernels::recurrent_step_forward<T>(cell, rows, hidden, {input_gates.data(), hidden_gates.data(), hidden_prev.data(),
                                                                cell_prev.data(), saved_fast.data(), h_fast.data(), c_fast.data()});
        kernels::recurrent_step_forward_reference<T>(cell, rows, hidden,
                                                     {input_gates.data(), hidden_gates.data(), hidden_prev.data(),
                                                      cell_prev.data(), saved_ref.data(), h_ref.data(), c_ref.data()});
        const double tolerance = std::is_same<T, float>::value ? 1e-5 : 1e-13;
        const auto check_same = [&](const std::vector<T>& fast, const std::vector<T>& reference, const char* what) {
            for (std::size_t i = 0; i < fast.size(); ++i)
            {
                INFO(what << " element " << i);
                CHECK(double(fast[i]) == doctest::Approx(double(reference[i])).epsilon(tolerance).scale(1.0));
            }
        };
        check_same(saved_fast, saved_ref, "saved");
        check_same(h_fast, h_ref, "h");
        if (cell == RecurrentCell::lstm)
            check_same(c_fast, c_ref, "c");

        const auto dh = random_values<T>(rows * hidden, T(-1), T(1), rng);
        const auto dc = random_values<T>(rows * hidden, T(-1), T(1), rng);
        std::vector<T> d_in_fast(rows * gates), d_in_ref(rows * gates), d_hh_fast(rows * gates), d_hh_ref(rows * gates);
        std::vector<T> dh_prev_fast(rows * hidden), dh_prev_ref(rows * hidden);
        std::vector<T> dc_prev_fast(rows * hidden), dc_prev_ref(rows * hidden);
        kernels::recurrent_step_backward<T>(cell, rows, hidden,
                                            {saved_ref.data(), hidden_prev.data(), cell_prev.data(), c_ref.data(), dh.data(),
                                             dc.data(), d_in_fast.data(), d_hh_fast.data(), dh_prev_fast.data(),
                                             dc_prev_fast.data()});
        kernels::recurrent_step_backward_reference<T>(cell, rows, hidden,
                                                      {saved_ref.data(), hidden_prev.data(), cell_prev.data(), c_ref.data(),
                                                       dh.data(), dc.data(), d_in_ref.data(), d_hh_ref.data(),
                                                       dh_prev_ref.data(), dc_prev_ref.data()});
        check_same(d_in_fast, d_in_ref, "d_input_gates");
        if (cell == RecurrentCell::gru)
        {
            check_same(d_hh_fast, d_hh_ref, "d_hidden_gates");
            check_same(dh_prev_fast, dh_prev_ref, "dhidden_prev");
        }
        if (cell == RecurrentCell::lstm)
            check_same(dc_prev_fast, dc_prev_ref, "dcell_prev");
    }

    // One tensor of everything a layer returns, for gradcheck.
    Tensor<double> joined(const std::vector<Tensor<double>>& parts)
    {
        std::vector<Tensor<double>> flat;
        for (const auto& part : parts)
            if (part.defined())
                flat.push_back(reshape(part, Dims{-1}));
        return cat(flat, 0);
    }

    // inputs followed by every parameter of `module`: what gradcheck perturbs.
    Inputs with_parameters(Inputs inputs, const nn::Module<double>& module)
    {
        for (const auto& parameter : module.parameters())
            inputs.push_back(parameter);
        return inputs;
    }
}

TEST_CASE_TEMPLATE("the fused recurrent step kernels match their references on odd sizes", T, float, double)
{
    for (const RecurrentCell cell : all_cells)
        for (const std::size_t rows : {1, 3})
            for (const std::size_t hidden : {1, 3, 7, 13, 37})
                check_step_kernels<T>(cell, rows, hidden);
}

TEST_CASE("recurrence passes gradcheck for every cell, both directions, with and without lengths")
{
    const std::size_t steps = 4, rows = 3, hidden = 3;
    for (const RecurrentCell cell : all_cells)
        for (const bool reverse : {false, true})
            for (const bool padded : {false, true})
            {
                CAPTURE(static_cast<int>(cell));
                CAPTURE(reverse);
                CAPTURE(padded);
                const std::size_t gates = kernels::gate_count(cell) * hidden;
                // relu's kink at 0 is avoided by a positive shift of the pre-activations
                const double shift = cell == RecurrentCell::rnn_relu ? 0.8 : 0.0;
                Inputs inputs{normal_leaf({steps, rows, gates}, 1, 0.8, shift), normal_leaf({rows, hidden}, 2, 0.5),
                              normal_leaf({gates, hidden}, 3, 0.4), normal_leaf({gates}, 4, 0.3),
                              normal_leaf({rows, hidden}, 5, 0.5)};
                const nn::Lengths lengths = padded ? nn::Lengths{2, 4, 1} : nn::Lengths{};
                const bool lstm = cell == RecurrentCell::lstm;
                CHECK(gradcheck(
                    [&](const Inputs& in) {
                        return recurrence(cell, in[0], in[1], lstm ? in[4] : Tensor<double>(), in[2], in[3], lengths,
                                          reverse);
                    },
                    lstm ? inputs : Inputs(inputs.begin(), inputs.begin() + 4)));
            }
}

TEST_CASE("recurrence refuses second derivatives with autograd_error")
{
    const auto input_gates = normal_leaf({3, 2, 8}, 1), h0 = normal_leaf({2, 2}, 2), c0 = normal_leaf({2, 2}, 3);
    const auto w = normal_leaf({8, 2}, 4);
    const Tensor<double> loss = sum(recurrence(RecurrentCell::lstm, input_gates, h0, c0, w, Tensor<double>()));
    check_error<autograd_error>([&] { grad({loss}, {input_gates}, true); }, {"recurrence(LSTM)", "create_graph"});
}

TEST_CASE("the cells pass gradcheck: input, state and every parameter, batched and unbatched")
{
    nn::RNNCell<double> rnn_tanh(3, 4), rnn_relu(3, 4, true, "relu");
    nn::GRUCell<double> gru(3, 4);
    nn::LSTMCell<double> lstm(3, 4);
    for (nn::RNNCell<double>* cell : {&rnn_tanh, &rnn_relu})
        CHECK(gradcheck([&](const Inputs& in) { return cell->forward(in[0], in[1]); },
                        with_parameters({normal_leaf({2, 3}, 1), normal_leaf({2, 4}, 2, 0.5)}, *cell)));
    CHECK(gradcheck([&](const Inputs& in) { return gru.forward(in[0], in[1]); },
                    with_parameters({normal_leaf({2, 3}, 3), normal_leaf({2, 4}, 4, 0.5)}, gru)));
    CHECK(gradcheck([&](const Inputs& in) { return gru.forward(in[0], in[1]); },
                    with_parameters({normal_leaf({3}, 5), normal_leaf({4}, 6, 0.5)}, gru)));
    CHECK(gradcheck(
        [&](const Inputs& in) {
            const nn::LSTMState<double> next = lstm.forward(in[0], {in[1], in[2]});
            return joined({next.h, next.c});
        },
        with_parameters({normal_leaf({2, 3}, 7), normal_leaf({2, 4}, 8, 0.5), normal_leaf({2, 4}, 9, 0.5)}, lstm)));
}

TEST_CASE("the layers pass gradcheck: two layers, both directions, batch_first, initial states and lengths")
{
    nn::RNN<double> rnn(3, 3, nn::RNNOptions().num_layers(2).bidirectional(true));
    nn::GRU<double> gru(3, 3, nn::RecurrentOptions().num_layers(2).bidirectional(true).batch_first(true));
    nn::LSTM<double> lstm(2, 3, nn::RecurrentOptions().num_layers(2).bidirectional(true));
    const nn::Lengths lengths{3, 1, 4};
    for (const bool padded : {false, true})
    {
        CAPTURE(padded);
        const nn::Lengths given = padded ? lengths : nn::Lengths{};
        CHECK(gradcheck(
            [&](const Inputs& in) {
                const auto run = rnn.forward(in[0], in[1], given);
                return joined({run.output, run.h_n});
            },
            with_parameters({normal_leaf({4, 3, 3}, 1), normal_leaf({4, 3, 3}, 2, 0.5)}, rnn)));
        CHECK(gradcheck(
            [&](const Inputs& in) {
                const auto run = gru.forward(in[0], in[1], given);
                return joined({run.output, run.h_n});
            },
            with_parameters({normal_leaf({3, 4, 3}, 3), normal_leaf({4, 3, 3}, 4, 0.5)}, gru)));
        CHECK(gradcheck(
            [&](const Inputs& in) {
                const auto run = lstm.forward(in[0], in[1], in[2], given);
                return joined({run.output, run.h_n, run.c_n});
            },
            with_parameters({normal_leaf({4, 3, 2}, 5), normal_leaf({4, 3, 3}, 6, 0.5), normal_leaf({4, 3, 3}, 7, 0.5)},
                            lstm)));
    }
}

namespace
{
    json load_fixture(const std::string& name)
    {
        return xgrad_test::load_fixture<json>("recurrent/" + name + ".json", "scripts/make_recurrent_fixtures.py");
    }

    template <class T>
    std::shared_ptr<nn::Module<T>> build(const json& description)
    {
        const std::string type = description.at("type");
        const std::size_t in = description.at("input_size"), hidden = description.at("hidden_size");
        const bool bias = description.at("bias");
        const std::string nonlinearity = description.at("nonlinearity");
        if (type == "RNNCell")
            return std::make_shared<nn::RNNCell<T>>(in, hidden, bias, nonlinearity);
        if (type == "LSTMCell")
            return std::make_shared<nn::LSTMCell<T>>(in, hidden, bias);
        if (type == "GRUCell")
            return std::make_shared<nn::GRUCell<T>>(in, hidden, bias);
        const std::size_t layers = description.at("num_layers");
        const bool batch_first = description.at("batch_first"), bidirectional = description.at("bidirectional");
        if (type == "RNN")
            return std::make_shared<nn::RNN<T>>(in, hidden,
                                                nn::RNNOptions().num_layers(layers).nonlinearity(nonlinearity).bias(bias)
                                                    .batch_first(batch_first).bidirectional(bidirectional));
        const auto options =
            nn::RecurrentOptions().num_layers(layers).bias(bias).batch_first(batch_first).bidirectional(bidirectional);
        if (type == "LSTM")
            return std::make_shared<nn::LSTM<T>>(in, hidden, options);
        REQUIRE(type == "GRU");
        return std::make_shared<nn::GRU<T>>(in, hidden, options);
    }

    // Runs the fixture's module on its inputs: {output, h_n, c_n} as the fixture names them (undefined when absent).
    template <class T>
    std::map<std::string, Tensor<T>> run(nn::Module<T>& module, const std::string& type,
                                         const std::map<std::string, Tensor<T>>& inputs, const nn::Lengths& lengths)
    {
        const auto input = [&](const char* name) {
            const auto found = inputs.find(name);
            return found == inputs.end() ? Tensor<T>() : found->second;
        };
        const Tensor<T> x = input("x"), h0 = input("h0"), c0 = input("c0");
        if (type == "RNNCell")
            return {{"h_n", dynamic_cast<nn::RNNCell<T>&>(module).forward(x, h0)}};
        if (type == "GRUCell")
            return {{"h_n", dynamic_cast<nn::GRUCell<T>&>(module).forward(x, h0)}};
        if (type == "LSTMCell")
        {
            const auto next = dynamic_cast<nn::LSTMCell<T>&>(module).forward(x, {h0, c0});
            return {{"h_n", next.h}, {"c_n", next.c}};
        }
        if (type == "LSTM")
        {
            const auto result = dynamic_cast<nn::LSTM<T>&>(module).forward(x, h0, c0, lengths);
            return {{"output", result.output}, {"h_n", result.h_n}, {"c_n", result.c_n}};
        }
        const auto result = type == "RNN" ? dynamic_cast<nn::RNN<T>&>(module).forward(x, h0, lengths)
                                          : dynamic_cast<nn::GRU<T>&>(module).forward(x, h0, lengths);
        return {{"output", result.output}, {"h_n", result.h_n}};
    }

    // Builds the fixture's module, loads PyTorch's state dict, and compares the state dict keys, the outputs,
    // the loss, and the gradients of every input and parameter.
    template <class T>
    void check_fixture(const std::string& name)
    {
        INFO("case " << name);
        const json fixture = load_fixture(name);
        const std::string type = fixture.at("module").at("type");
        const auto module = build<T>(fixture.at("module"));

        std::vector<std::string> ours, theirs;
        for (const auto& entry : module->state_dict())
            ours.push_back(entry.first);
        nn::StateDict<T> state;
        for (const auto& [key, value] : fixture.at("state").items())
        {
            theirs.push_back(key);
            state.insert(key, read_array<T>(value));
        }
        CHECK(ours == theirs);
        module->load_state_dict(state);

        std::map<std::string, Tensor<T>> inputs;
        for (const auto& [key, value] : fixture.at("inputs").items())
            inputs.emplace(key, Tensor<T>(read_array<T>(value), true));
        const nn::Lengths lengths = fixture.contains("lengths") ? fixture.at("lengths").get<nn::Lengths>() : nn::Lengths{};
        const auto outputs = run(*module, type, inputs, lengths);

        Tensor<T> loss;
        for (const auto& entry : fixture.at("outputs").items())
        {
            // (a named entry, not a structured binding: doctest's macros capture in lambdas, and clang 14
            // refuses structured bindings there)
            const std::string key = entry.key();
            const json& expected = entry.value();
            const auto found = outputs.find(key);
            REQUIRE_MESSAGE(found != outputs.end(), "no " << key);
            check_close_to_pytorch(name + " " + key, found->second.value(), read_array<T>(expected));
            const Tensor<T> term = sum(mul(found->second, constant<T>(read_array<T>(fixture.at("probes").at(key)))));
            loss = loss.defined() ? add(loss, term) : term;
        }
        CHECK(static_cast<double>(loss.item()) ==
              doctest::Approx(fixture.at("loss").get<double>()).epsilon(std::is_same<T, float>::value ? 1e-4 : 1e-10));
        loss.backward();

        const json& grads = fixture.at("grads");
        for (const auto& [key, tensor] : inputs)
            check_close_to_pytorch(name + " d/d input " + key, tensor.grad(), read_array<T>(grads.at("input." + key)));
        const auto parameters = module->named_parameters();
        CHECK(parameters.size() + inputs.size() == grads.size());
        for (const auto& entry : parameters)
        {
            REQUIRE_MESSAGE(grads.contains(entry.first), "PyTorch has no parameter " << entry.first);
            REQUIRE_MESSAGE(entry.second.has_grad(), entry.first << " got no gradient");
            check_close_to_pytorch(name + " d/d " + entry.first, entry.second.grad(), read_array<T>(grads.at(entry.first)));
        }
    }

    const char* const fixture_names[] = {"rnn_cell_tanh",
                                         "rnn_cell_relu",
                                         "lstm_cell",
                                         "gru_cell",
                                         "gru_cell_zero_state_no_bias",
                                         "rnn_tanh",
                                         "rnn_relu_two_layers",
                                         "rnn_tanh_bidirectional_lengths",
                                         "lstm",
                                         "lstm_zero_state",
                                         "lstm_no_bias_batch_first",
                                         "lstm_bidirectional_two_layers",
                                         "lstm_bidirectional_two_layers_lengths",
                                         "lstm_unbatched_bidirectional",
                                         "gru",
                                         "gru_bidirectional_two_layers_batch_first",
                                         "gru_two_layers_lengths_batch_first",
                                         "gru_unbatched"};
}

TEST_CASE_TEMPLATE("the recurrent layers and cells match PyTorch 1.13: outputs, states, every gradient", T, float,
                   double)
{
    for (const char* name : fixture_names)
        check_fixture<T>(name);
}

TEST_CASE("a padded batch gives each sequence what it gives alone: outputs zero past the length, final states at it")
{
    nn::LSTM<double> lstm(2, 3, nn::RecurrentOptions().num_layers(2).bidirectional(true).batch_first(true));
    nn::GRU<double> gru(2, 3, nn::RecurrentOptions().bidirectional(true));
    const nn::Lengths lengths{2, 5, 3};   // not sorted
    const auto x = normal_leaf({3, 5, 2}, 11);   // (N, L, in), batch_first for the LSTM
    const auto padded_lstm = lstm.forward(x, Tensor<double>(), Tensor<double>(), lengths);
    const auto padded_gru = gru.forward(transpose(x, 0, 1), Tensor<double>(), lengths);
    for (std::size_t b = 0; b < lengths.size(); ++b)
    {
        CAPTURE(b);
        const Tensor<double> alone = narrow(narrow(x, 0, b, 1), 1, 0, lengths[b]);   // (1, length, in)
        const auto lstm_alone = lstm.forward(alone, Tensor<double>(), Tensor<double>());
        const auto gru_alone = gru.forward(transpose(alone, 0, 1), Tensor<double>());
        const Tensor<double> lstm_row = narrow(padded_lstm.output, 0, b, 1);
        check_close(narrow(lstm_row, 1, 0, lengths[b]).value(), lstm_alone.output.value(), 1e-12);
        const Tensor<double> gru_column = narrow(padded_gru.output, 1, b, 1);
        check_close(narrow(gru_column, 0, 0, lengths[b]).value(), gru_alone.output.value(), 1e-12);
        if (lengths[b] < 5)
        {
            const double lstm_tail = sum(abs(narrow(lstm_row, 1, lengths[b], 5 - lengths[b]))).item();
            const double gru_tail = sum(abs(narrow(gru_column, 0, lengths[b], 5 - lengths[b]))).item();
            CHECK(lstm_tail == 0.0);
            CHECK(gru_tail == 0.0);
        }
        check_close(narrow(padded_lstm.h_n, 1, b, 1).value(), lstm_alone.h_n.value(), 1e-12);
        check_close(narrow(padded_lstm.c_n, 1, b, 1).value(), lstm_alone.c_n.value(), 1e-12);
        check_close(narrow(padded_gru.h_n, 1, b, 1).value(), gru_alone.h_n.value(), 1e-12);
    }
}

TEST_CASE("recurrent layers are Modules: names, printout, train/eval with dropout between layers, Sequential")
{
    nn::GRU<double> gru(3, 4, nn::RecurrentOptions().num_layers(2).dropout(0.5).bidirectional(true));
    std::vector<std::string> names;
    for (const auto& entry : gru.named_parameters())
        names.push_back(entry.first);
    CHECK(names == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                                            "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1",
                                            "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse",
                                            "bias_ih_l1_reverse", "bias_hh_l1_reverse"});
    CHECK(gru.named_parameters()[8].second.shape() == Shape{12, 8});   // layer 1 reads both directions
    std::ostringstream printed;
    printed << gru;
    CHECK(printed.str() == "GRU(3, 4, num_layers=2, dropout=0.5, bidirectional=true)");
    // Every parameter starts in U(-1/sqrt(H), 1/sqrt(H)) = U(-0.5, 0.5).
    for (const auto& parameter : gru.parameters())
        CHECK(xt::amax(xt::abs(parameter.value()))() <= 0.5);

    const auto x = normal_leaf({5, 2, 3}, 21);
    const Tensor<double> first = gru(x), second = gru(x);
    CHECK_FALSE(xt::allclose(first.value(), second.value()));   // dropout after layer 0 differs between calls
    gru.eval();
    check_close(gru(x).value(), gru(x).value(), 1e-14);
    // Dropout acts only between layers: one layer gives the same output in training and evaluation.
    nn::LSTM<double> single(3, 4, nn::RecurrentOptions().dropout(0.5));
    const Tensor<double> training = single(x);
    single.eval();
    check_close(single(x).value(), training.value(), 1e-14);

    // A copy of the state dict into a fresh layer gives the same outputs.
    nn::GRU<double> copy(3, 4, nn::RecurrentOptions().num_layers(2).dropout(0.5).bidirectional(true));
    copy.load_state_dict(gru.state_dict());
    copy.eval();
    check_close(copy(x).value(), gru(x).value(), 1e-14);

    // In a Sequential the layer's forward(input) gives the output sequence.
    nn::Sequential<double> model;
    model.push_back(nn::RNN<double>(3, 4, nn::RNNOptions().nonlinearity("relu")));
    model.push_back(nn::Linear<double>(4, 2));
    CHECK(model(x).shape() == Shape{5, 2, 2});
    nn::LSTMCell<double> cell(3, 4, false);
    std::ostringstream cell_printed;
    cell_printed << cell;
    CHECK(cell_printed.str() == "LSTMCell(3, 4, bias=false)");
    CHECK(cell.state_dict().size() == 2);
}

TEST_CASE("recurrent layers and cells refuse bad settings, inputs, states and lengths with typed errors")
{
    check_error<value_error>([] { nn::RNN<float>(3, 4, nn::RNNOptions().nonlinearity("sigmoid")); },
                             {"RNN", "nonlinearity", "sigmoid"});
    check_error<value_error>([] { nn::RNNCell<float>(3, 4, true, "gelu"); }, {"RNNCell", "gelu"});
    check_error<value_error>([] { nn::LSTM<float>(3, 0); }, {"LSTM", "hidden_size"});
    check_error<value_error>([] { nn::GRU<float>(3, 4, nn::RecurrentOptions().num_layers(0)); }, {"GRU", "num_layers"});
    check_error<value_error>([] { nn::GRU<float>(3, 4, nn::RecurrentOptions().dropout(1.5)); }, {"GRU", "dropout", "1.5"});
    check_error<value_error>([] { nn::GRUCell<float>(0, 4); }, {"GRUCell", "input_size"});

    nn::LSTM<double> lstm(3, 4, nn::RecurrentOptions().num_layers(2));
    const auto x = normal_leaf({5, 2, 3}, 1);
    check_error<shape_error>([&] { lstm(normal_leaf({5, 2, 2, 3}, 2)); }, {"LSTM(3, 4, num_layers=2)", "(5, 2, 2, 3)"});
    check_error<shape_error>([&] { lstm(normal_leaf({5, 2, 4}, 2)); }, {"LSTM", "(L, N, 3)", "(5, 2, 4)"});
    check_error<shape_error>([&] { lstm(Tensor<double>(xt::xarray<double>::from_shape({0, 2, 3}))); },
                             {"LSTM", "empty", "(0, 2, 3)"});
    const auto h0 = normal_leaf({2, 2, 4}, 3);
    check_error<shape_error>([&] { lstm.forward(x, normal_leaf({1, 2, 4}, 3), normal_leaf({1, 2, 4}, 4)); },
                             {"LSTM", "h0", "(2, 2, 4)", "(1, 2, 4)"});
    check_error<shape_error>([&] { lstm.forward(x, h0, normal_leaf({2, 3, 4}, 4)); }, {"LSTM", "c0", "(2, 3, 4)"});
    check_error<value_error>([&] { lstm.forward(x, h0, Tensor<double>()); }, {"LSTM", "h0 and c0"});
    check_error<value_error>([&] { lstm.forward(x, h0, h0, {5, 1, 2}); }, {"LSTM", "3 lengths", "batch of 2"});
    check_error<value_error>([&] { lstm.forward(x, h0, h0, {6, 1}); }, {"LSTM", "[1, 5]", "6"});
    check_error<value_error>([&] { lstm.forward(x, h0, h0, {0, 1}); }, {"LSTM", "[1, 5]", "0"});

    nn::GRU<double> gru(3, 4, nn::RecurrentOptions().batch_first(true).bidirectional(true));
    check_error<shape_error>([&] { gru(normal_leaf({2, 5, 4}, 5)); }, {"GRU", "(N, L, 3)", "(2, 5, 4)"});
    check_error<shape_error>([&] { gru.forward(normal_leaf({5, 3}, 5), normal_leaf({2, 1, 4}, 6)); },
                             {"GRU", "h0", "(2, 4)", "(2, 1, 4)"});

    nn::LSTMCell<double> cell(3, 4);
    check_error<shape_error>([&] { cell(normal_leaf({2, 5}, 7)); }, {"LSTMCell(3, 4)", "(N, 3)", "(2, 5)"});
    check_error<shape_error>([&] { cell.forward(normal_leaf({2, 3}, 7), {normal_leaf({2, 5}, 8), normal_leaf({2, 5}, 9)}); },
                             {"LSTMCell", "h must be (2, 4)", "(2, 5)"});
    check_error<value_error>([&] { cell.forward(normal_leaf({2, 3}, 7), {normal_leaf({2, 4}, 8), Tensor<double>()}); },
                             {"LSTMCell", "both h and c"});
    nn::RNNCell<double> rnn_cell(3, 4);
    check_error<shape_error>([&] { rnn_cell.forward(normal_leaf({3}, 7), normal_leaf({1, 4}, 8)); },
                             {"RNNCell", "h must be (4,)", "(1, 4)"});

    // The op itself names the cell and the shapes.
    const auto gates = normal_leaf({5, 2, 12}, 10), w = normal_leaf({12, 4}, 11);
    check_error<shape_error>([&] { recurrence(RecurrentCell::gru, gates, normal_leaf({2, 3}, 12), Tensor<double>(), w, Tensor<double>()); },
                             {"recurrence(GRU)", "h0 must be (2, 4)", "(2, 3)"});
    check_error<shape_error>([&] { recurrence(RecurrentCell::lstm, gates, normal_leaf({2, 4}, 12), Tensor<double>(), w, Tensor<double>()); },
                             {"recurrence(LSTM)", "weight_hh must be (4H, H)", "(12, 4)"});
    CHECK_THROWS_AS(recurrence(RecurrentCell::gru, gates, normal_leaf({2, 4}, 12), Tensor<double>(), w, Tensor<double>(), {5, 6}),
                    value_error);
}
