// The exception types xgrad throws.  Every message names the operation and what it got.
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace xgrad
{
    // Base of every xgrad exception, so `catch (const xgrad::error&)` catches them all.
    class error : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    // Wrong shapes or ranks: `matmul: inner dimensions differ, got (2, 3) and (4, 5)`.
    class shape_error : public error
    {
    public:
        using error::error;
    };

    // A value out of its domain: a bad axis, a negative size, an out-of-range index, a NaN where none may be.
    class value_error : public error
    {
    public:
        using error::error;
    };

    // Misuse of the autograd engine: backward through a released graph, on a non-scalar without a gradient.
    class autograd_error : public error
    {
    public:
        using error::error;
    };

    // A NaN or Inf found by anomaly mode (core/anomaly.hpp): names the op, forward or backward pass, its
    // input shapes and the ops that produced its inputs.
    class anomaly_error : public error
    {
    public:
        using error::error;
    };

    // A file that cannot be read or written, or whose contents are corrupt or truncated.
    class io_error : public error
    {
    public:
        using error::error;
    };

    // Formats a shape as `(2, 3)` for error messages.
    template <class Shape>
    std::string shape_string(const Shape& shape)
    {
        std::ostringstream out;
        out << '(';
        std::size_t i = 0;
        for (auto extent : shape)
            out << (i++ ? ", " : "") << extent;
        if (i == 1)
            out << ',';
        out << ')';
        return out.str();
    }
}
