// The examples' command lines: CLI11, behind a small front that is compiled once (command_line.cpp) for
// every example.  CLI11 2.1 is header-only, and compiling it took longer than compiling most examples'
// own code; behind this front, an example's compile time is its own and xgrad's.
//     CommandLine cli{"What the program does"};
//     cli.add_option("--epochs", epochs, "Passes over the training set");   // the default is epochs' value
//     cli.add_flag("--smoke", smoke, "A quick run");
//     if (const auto exit_code = cli.parse(argc, argv))                     // --help, or a bad option
//         return *exit_code;
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace CLI
{
    class App;
}

class CommandLine
{
public:
    explicit CommandLine(const std::string& description);
    ~CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    // `--name value` sets `value` (std::string, int, std::int64_t, std::size_t, float or double); --help
    // shows its current value as the default.
    template <class Value>
    void add_option(const std::string& name, Value& value, const std::string& help);
    // The same for a whole number that must lie in [low, high].
    template <class Value>
    void add_option(const std::string& name, Value& value, const std::string& help, Value low, Value high);
    // `--name` alone sets `value` to true.
    void add_flag(const std::string& name, bool& value, const std::string& help);

    // Reads argv.  Returns the exit code to end the program with when it should not go on: 0 after --help,
    // an error code (with CLI11's message on stderr) for an unknown option or a value that does not parse.
    std::optional<int> parse(int argc, char** argv);

private:
    std::unique_ptr<CLI::App> app_;
};
