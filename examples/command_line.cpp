// CLI11 for every example, compiled once (command_line.hpp says why).
#include "command_line.hpp"

#include <cstddef>
#include <cstdint>

#include <CLI/CLI.hpp>

CommandLine::CommandLine(const std::string& description) : app_(std::make_unique<CLI::App>(description)) {}

CommandLine::~CommandLine() = default;

template <class Value>
void CommandLine::add_option(const std::string& name, Value& value, const std::string& help)
{
    app_->add_option(name, value, help)->capture_default_str();
}

template <class Value>
void CommandLine::add_option(const std::string& name, Value& value, const std::string& help, Value low, Value high)
{
    app_->add_option(name, value, help)->capture_default_str()->check(CLI::Range(low, high));
}

void CommandLine::add_flag(const std::string& name, bool& value, const std::string& help)
{
    app_->add_flag(name, value, help);
}

std::optional<int> CommandLine::parse(int argc, char** argv)
{
    try
    {
        app_->parse(argc, argv);
    }
    catch (const CLI::ParseError& e)
    {
        return app_->exit(e);
    }
    return std::nullopt;
}

template void CommandLine::add_option(const std::string&, std::string&, const std::string&);
template void CommandLine::add_option(const std::string&, int&, const std::string&);
template void CommandLine::add_option(const std::string&, std::int64_t&, const std::string&);
template void CommandLine::add_option(const std::string&, std::size_t&, const std::string&);
template void CommandLine::add_option(const std::string&, float&, const std::string&);
template void CommandLine::add_option(const std::string&, double&, const std::string&);
template void CommandLine::add_option(const std::string&, std::int64_t&, const std::string&, std::int64_t, std::int64_t);
template void CommandLine::add_option(const std::string&, std::size_t&, const std::string&, std::size_t, std::size_t);
