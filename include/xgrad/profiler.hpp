// The profiler: where a training step spends its time, op by op, forward and backward.
//   profiler::Profile profile;                 // records while it lives (one at a time)
//   ... train a few steps ...
//   std::cout << profile.table();              // ops sorted by self time, like torch.profiler's key_averages()
//   profile.export_chrome_trace("trace.json"); // a timeline for Perfetto or chrome://tracing
// Each op opens a Scope (XGRAD_PROFILE_OP) and the engine one per backward rule.  When no Profile lives, a
// scope is one relaxed atomic load and a branch: nothing is timed, allocated or locked.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "error.hpp"

namespace xgrad::profiler
{
    enum class Pass
    {
        forward,
        backward
    };

    // One timed scope: an op's forward, or the backward rule of the node an op recorded.
    struct Event
    {
        const char* name;            // the op's name (a string literal)
        Pass pass;
        std::int64_t start_ns;       // since the Profile began
        std::int64_t duration_ns;
        std::int64_t self_ns;        // duration minus the scopes opened inside it (composite ops, rules' ops)
        std::uint64_t bytes;         // bytes of the results it produced
        std::size_t thread;          // 0 for the first thread seen, 1 for the next, ...
        std::size_t depth;           // 0 for a scope opened outside every other
    };

    // Totals of one (name, pass) over the whole profile.
    struct OpAverage
    {
        std::string name;
        Pass pass;
        std::size_t calls = 0;
        std::int64_t self_ns = 0, total_ns = 0;
        std::uint64_t bytes = 0;
    };

    namespace detail
    {
        struct Recorder
        {
            std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now();
            std::mutex mutex;
            std::vector<Event> events;
            std::map<std::thread::id, std::size_t> threads;
        };

        inline std::atomic<Recorder*>& active_recorder()
        {
            static std::atomic<Recorder*> recorder{nullptr};
            return recorder;
        }

        // The scopes open on this thread, innermost last: for self times and for the bytes of results.
        struct OpenScope
        {
            std::int64_t children_ns = 0;
            std::uint64_t bytes = 0;
        };
        inline std::vector<OpenScope>& open_scopes()
        {
            thread_local std::vector<OpenScope> scopes;
            return scopes;
        }

        inline std::int64_t nanoseconds_since(std::chrono::steady_clock::time_point origin)
        {
            return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin)
                .count();
        }
    }

    // Adds the bytes of a result to the innermost open scope (make_result calls it for every value it wraps).
    inline void record_result_bytes(std::uint64_t bytes)
    {
        if (detail::active_recorder().load(std::memory_order_relaxed) == nullptr)
            return;
        auto& scopes = detail::open_scopes();
        if (!scopes.empty())
            scopes.back().bytes += bytes;
    }

    // Times what runs between its construction and its destruction under `name`, while a Profile lives.
    class Scope
    {
    public:
        Scope(const char* name, Pass pass) : recorder_(detail::active_recorder().load(std::memory_order_relaxed))
        {
            if (recorder_ == nullptr)
                return;
            name_ = name;
            pass_ = pass;
            detail::open_scopes().emplace_back();
            start_ns_ = detail::nanoseconds_since(recorder_->origin);
        }
        ~Scope()
        {
            if (recorder_ == nullptr)
                return;
            const std::int64_t duration = detail::nanoseconds_since(recorder_->origin) - start_ns_;
            auto& scopes = detail::open_scopes();
            const detail::OpenScope mine = scopes.back();
            scopes.pop_back();
            if (!scopes.empty())
                scopes.back().children_ns += duration;
            std::lock_guard<std::mutex> lock(recorder_->mutex);
            const auto thread =
                recorder_->threads.try_emplace(std::this_thread::get_id(), recorder_->threads.size()).first->second;
            recorder_->events.push_back(
                {name_, pass_, start_ns_, duration, duration - mine.children_ns, mine.bytes, thread, scopes.size()});
        }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        detail::Recorder* recorder_;
        const char* name_ = nullptr;
        Pass pass_ = Pass::forward;
        std::int64_t start_ns_ = 0;
    };

    // Records every op from its construction until stop() or its destruction.  One Profile at a time.
    class Profile
    {
    public:
        Profile()
        {
            detail::Recorder* expected = nullptr;
            if (!detail::active_recorder().compare_exchange_strong(expected, &recorder_))
                throw value_error("profiler: a Profile is already recording; stop it before starting another");
        }
        ~Profile() { stop(); }
        Profile(const Profile&) = delete;
        Profile& operator=(const Profile&) = delete;

        // Ends the recording (the events stay for the reports).  Scopes still open when it stops are not recorded.
        void stop()
        {
            detail::Recorder* mine = &recorder_;
            detail::active_recorder().compare_exchange_strong(mine, nullptr);
        }

        // Every recorded scope, in the order they ended.
        std::vector<Event> events() const
        {
            std::lock_guard<std::mutex> lock(recorder_.mutex);
            return recorder_.events;
        }

        // One row per (op, pass), by self time, longest first.
        std::vector<OpAverage> key_averages() const
        {
            std::map<std::pair<std::string, Pass>, OpAverage> by_op;
            for (const Event& event : events())
            {
                OpAverage& average = by_op[{event.name, event.pass}];
                average.name = event.name;
                average.pass = event.pass;
                ++average.calls;
                average.self_ns += event.self_ns;
                average.total_ns += event.duration_ns;
                average.bytes += event.bytes;
            }
            std::vector<OpAverage> rows;
            for (auto& entry : by_op)
                rows.push_back(std::move(entry.second));
            std::stable_sort(rows.begin(), rows.end(),
                             [](const OpAverage& a, const OpAverage& b) { return a.self_ns > b.self_ns; });
            return rows;
        }

        // The key averages as a table: op, pass, calls, self and total time (ms and share of all self time),
        // time per call, and the bytes of results; `row_limit` rows (0: all).
        std::string table(std::size_t row_limit = 0) const
        {
            const auto rows = key_averages();
            std::int64_t all_self_ns = 0;
            for (const auto& row : rows)
                all_self_ns += row.self_ns;
            std::ostringstream out;
            out << std::left << std::setw(34) << "op" << std::setw(10) << "pass" << std::right << std::setw(9)
                << "calls" << std::setw(12) << "self ms" << std::setw(8) << "self%" << std::setw(12) << "total ms"
                << std::setw(12) << "us/call" << std::setw(12) << "MB out" << '\n';
            std::size_t printed = 0;
            for (const auto& row : rows)
            {
                if (row_limit != 0 && printed++ == row_limit)
                    break;
                const double share = all_self_ns > 0 ? 100.0 * double(row.self_ns) / double(all_self_ns) : 0.0;
                out << std::left << std::setw(34) << row.name << std::setw(10)
                    << (row.pass == Pass::forward ? "forward" : "backward") << std::right << std::fixed
                    << std::setw(9) << row.calls << std::setprecision(3) << std::setw(12) << double(row.self_ns) / 1e6
                    << std::setprecision(1) << std::setw(8) << share << std::setprecision(3) << std::setw(12)
                    << double(row.total_ns) / 1e6 << std::setw(12) << double(row.total_ns) / 1e3 / double(row.calls)
                    << std::setw(12) << double(row.bytes) / 1e6 << '\n';
            }
            out << "self time of all ops: " << std::setprecision(3) << double(all_self_ns) / 1e6 << " ms\n";
            return out.str();
        }

        // The Chrome trace-event format (complete "X" events, microseconds), which Perfetto opens.
        void export_chrome_trace(const std::string& path) const
        {
            std::ofstream out(path);
            if (!out)
                throw io_error("profiler: cannot write " + path);
            out << "{\"traceEvents\": [";
            bool first = true;
            for (const Event& event : events())
            {
                out << (first ? "\n" : ",\n") << "{\"name\": \"" << event.name
                    << (event.pass == Pass::backward ? " backward" : "") << "\", \"cat\": \""
                    << (event.pass == Pass::forward ? "forward" : "backward") << "\", \"ph\": \"X\", \"ts\": "
                    << std::fixed << std::setprecision(3) << double(event.start_ns) / 1e3
                    << ", \"dur\": " << double(event.duration_ns) / 1e3 << ", \"pid\": 0, \"tid\": " << event.thread
                    << ", \"args\": {\"bytes\": " << event.bytes << "}}";
                first = false;
            }
            out << "\n], \"displayTimeUnit\": \"ms\"}\n";
            if (!out.flush())
                throw io_error("profiler: writing " + path + " failed");
        }

    private:
        mutable detail::Recorder recorder_;
    };
}

// Opens a profiler scope for the op in which it stands, named by a string literal.
#define XGRAD_PROFILE_OP(name) const ::xgrad::profiler::Scope xgrad_profile_scope_(name, ::xgrad::profiler::Pass::forward)
