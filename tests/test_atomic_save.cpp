// Saves that are killed or run out of room: a child process saving in a loop is killed with SIGKILL at random
// moments and the file always loads as one complete version, with no temporary outliving the next save; a
// save that hits the file size limit is an io_error and keeps the previous file; temporaries of processes
// that no longer exist are removed, those of live processes kept.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xgrad/io.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;

namespace
{
    // A state dict whose every value is `version`: a file that loads as anything else is a mix of two saves.
    StateDict<float> versioned_state(float version, std::size_t size = std::size_t(1) << 18)
    {
        StateDict<float> state;
        state.insert("weight", xt::xarray<float>(xt::xarray<float>::shape_type{size}, version));
        state.insert("bias", xt::xarray<float>(xt::xarray<float>::shape_type{7}, version));
        return state;
    }

    // The one value every entry of the file at `path` holds, or -1 when they differ.
    float version_of(const std::string& path)
    {
        const auto state = io::load_safetensors<float>(path);
        const float version = state.at("bias")(0);
        for (const auto& [name, value] : state)
            for (float v : value)
                if (v != version)
                    return -1;
        return version;
    }

    // Runs `child` in a forked process and returns its exit status (-1 when it did not exit normally).
    template <class Child>
    int exit_status_of(Child&& child)
    {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            ::_exit(child());
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    // A pid that belonged to a process that has ended.
    pid_t ended_pid()
    {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            ::_exit(0);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        return pid;
    }
}

TEST_CASE("temporary names: the pid of '<file>.tmp.<pid>[.<n>]', 0 for anything else")
{
    using io::detail::temporary_owner;
    CHECK(temporary_owner("model.safetensors.tmp.1234", "model.safetensors") == 1234);
    CHECK(temporary_owner("model.safetensors.tmp.1234.7", "model.safetensors") == 1234);
    CHECK(temporary_owner("model.safetensors.tmp.", "model.safetensors") == 0);
    CHECK(temporary_owner("model.safetensors.tmp.12x", "model.safetensors") == 0);
    CHECK(temporary_owner("model.safetensors.tmp.-5", "model.safetensors") == 0);
    CHECK(temporary_owner("model.safetensors.tmp.99999999999999999999", "model.safetensors") == 0);
    CHECK(temporary_owner("other.safetensors.tmp.1234", "model.safetensors") == 0);
    CHECK(temporary_owner("model.safetensors", "model.safetensors") == 0);
}

TEST_CASE("a save removes the temporaries its target's killed savers left, and no others")
{
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    const std::string dead = std::to_string(ended_pid()), live = std::to_string(::getppid());
    for (const std::string& name : {"model.safetensors.tmp." + dead, "model.safetensors.tmp." + dead + ".3",
                                    "model.safetensors.tmp." + live, "other.safetensors.tmp." + dead})
        write_bytes(dir.file(name), "partial");
    io::save_safetensors(versioned_state(1, 8), path);
    CHECK(version_of(path) == 1);
    auto left = dir.temporaries();
    std::sort(left.begin(), left.end());
    CHECK(left == std::vector<std::string>{"model.safetensors.tmp." + live, "other.safetensors.tmp." + dead});
}

TEST_CASE("a saving process killed at random moments leaves a complete file and no lasting temporary")
{
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    io::save_safetensors(versioned_state(0), path);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> delay_us(0, 20000);
    std::size_t left_by_kills = 0;
    for (int round = 1; round <= 25; ++round)
    {
        const pid_t saver = ::fork();
        REQUIRE(saver >= 0);
        if (saver == 0)
        {
            for (float version = float(round) * 1000;; ++version)
                io::save_safetensors(versioned_state(version), path);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        ::kill(saver, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(saver, &status, 0) == saver);
        INFO("round " << round);
        CHECK(version_of(path) >= 0);   // one whole version, old or new
        left_by_kills += dir.temporaries().size();
    }
    // Unnamed temporaries vanish with their process; a named one (a kill between naming and renaming, or a
    // file system without unnamed files) is removed by the next save.
    MESSAGE(left_by_kills << " temporaries found right after 25 kills");
    io::save_safetensors(versioned_state(1), path);
    CHECK(version_of(path) == 1);
    CHECK(dir.temporaries().empty());
}

TEST_CASE("a save beyond the file size limit is an io_error and keeps the previous file")
{
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    io::save_safetensors(versioned_state(3), path);
    const std::string before = read_bytes(path);
    // In a child: the limit applies to the whole process, and exceeding it raises SIGXFSZ unless ignored.
    const int status = exit_status_of([&] {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{64 * 1024, 64 * 1024};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0)
            return 4;
        try
        {
            io::save_safetensors(versioned_state(4), path);   // about 1 MB
            return 2;
        }
        catch (const io_error& error)
        {
            const std::string message = error.what();
            return message.find(path) != std::string::npos && message.find("unchanged") != std::string::npos ? 0 : 3;
        }
        catch (...)
        {
            return 5;
        }
    });
    CHECK(status == 0);   // 2: no error, 3: the message does not name the file, 4: no limit, 5: another error
    CHECK(read_bytes(path) == before);
    CHECK(dir.temporaries().empty());
}
