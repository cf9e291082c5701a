// The profiler: per-op forward and backward scopes, self times that exclude nested ops, bytes of results,
// the key-averages table and the Chrome trace; nothing recorded while no Profile lives.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::TempDir;

namespace
{
    // One training-like step: linear (matmul + add), relu, a sum, and the backward of all of them.
    void step()
    {
        const Tensor<float> x(xt::xarray<float>(xt::ones<float>({4, 3})));
        const Tensor<float> w(xt::xarray<float>(xt::ones<float>({8, 3})), true), b(xt::xarray<float>(xt::zeros<float>({8})), true);
        sum(relu(linear(x, w, b))).backward();
    }

    std::map<std::pair<std::string, profiler::Pass>, profiler::OpAverage> by_op(const profiler::Profile& profile)
    {
        std::map<std::pair<std::string, profiler::Pass>, profiler::OpAverage> rows;
        for (const auto& row : profile.key_averages())
            rows[{row.name, row.pass}] = row;
        return rows;
    }
}

TEST_CASE("profiler: ops forward and backward, calls, bytes, self time within total")
{
    step();   // before any Profile: nothing to record, nothing kept
    profiler::Profile profile;
    step();
    step();
    profile.stop();
    step();   // after stop: not recorded

    const auto rows = by_op(profile);
    using profiler::Pass;
    for (const char* op : {"linear", "matmul", "add", "relu", "sum"})
    {
        CAPTURE(op);
        REQUIRE(rows.count({op, Pass::forward}) == 1);
        // Backward rules call ops too (matmul's rule makes two products), and those count as forward calls.
        CHECK(rows.at({op, Pass::forward}).calls >= 2);
    }
    CHECK(rows.at({"linear", Pass::forward}).calls == 2);
    CHECK(rows.at({"relu", Pass::forward}).calls == 2);
    for (const char* op : {"matmul", "add", "relu", "sum"})   // each recorded node's rule, once per step
    {
        CAPTURE(op);
        REQUIRE(rows.count({op, Pass::backward}) == 1);
        CHECK(rows.at({op, Pass::backward}).calls == 2);
    }
    CHECK(rows.at({"relu", Pass::forward}).bytes == 2 * 4 * 8 * sizeof(float));   // two (4, 8) results
    for (const auto& entry : rows)
    {
        const auto& key = entry.first;
        const auto& row = entry.second;
        CAPTURE(key.first);
        CHECK(row.self_ns >= 0);
        CHECK(row.self_ns <= row.total_ns);
    }
    // linear is matmul then add, opened inside it: its own (self) time excludes theirs.
    const auto events = profile.events();
    std::int64_t nested_in_linear_ns = 0, linear_ns = 0, linear_self_ns = 0;
    for (const auto& outer : events)
        if (outer.name == std::string("linear"))
        {
            CHECK(outer.depth == 0);
            linear_ns += outer.duration_ns;
            linear_self_ns += outer.self_ns;
            for (const auto& inner : events)
                if (inner.depth == 1 && inner.start_ns >= outer.start_ns &&
                    inner.start_ns < outer.start_ns + outer.duration_ns)
                    nested_in_linear_ns += inner.duration_ns;
        }
    CHECK(linear_self_ns == linear_ns - nested_in_linear_ns);

    // Sorted by self time, longest first; the table names the ops and the passes.
    const auto averages = profile.key_averages();
    for (std::size_t i = 1; i < averages.size(); ++i)
        CHECK(averages[i - 1].self_ns >= averages[i].self_ns);
    const std::string table = profile.table();
    for (const char* text : {"op", "self ms", "matmul", "backward", "forward", "self time of all ops"})
        CHECK(table.find(text) != std::string::npos);
    CHECK(profile.table(2).find("self time of all ops") != std::string::npos);
}

TEST_CASE("profiler: the Chrome trace is JSON with one complete event per scope")
{
    TempDir dir;
    profiler::Profile profile;
    step();
    profile.stop();
    const std::string path = dir.file("trace.json");
    profile.export_chrome_trace(path);
    std::ifstream in(path);
    const auto trace = nlohmann::json::parse(in);
    const auto& events = trace.at("traceEvents");
    CHECK(events.size() == profile.events().size());
    bool saw_matmul_backward = false;
    for (const auto& event : events)
    {
        CHECK(event.at("ph") == "X");
        CHECK(event.at("dur").get<double>() >= 0.0);
        saw_matmul_backward = saw_matmul_backward || event.at("name") == "matmul backward";
    }
    CHECK(saw_matmul_backward);
    CHECK_THROWS_AS(profile.export_chrome_trace(dir.file("no/such/folder/trace.json")), io_error);
}

TEST_CASE("profiler: one Profile at a time")
{
    profiler::Profile first;
    CHECK_THROWS_AS(profiler::Profile(), value_error);
    first.stop();
    profiler::Profile second;   // the first has stopped: a new one may start
    step();
    CHECK_FALSE(second.events().empty());
    CHECK(first.events().empty());
}
