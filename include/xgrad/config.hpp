// Version macros (CMake reads them from here), the library-wide assertion, and chainable options.
#pragma once

#define XGRAD_VERSION_MAJOR 0
#define XGRAD_VERSION_MINOR 1
#define XGRAD_VERSION_PATCH 0

#define XGRAD_STRINGIFY_DETAIL(x) #x
#define XGRAD_STRINGIFY(x) XGRAD_STRINGIFY_DETAIL(x)
#define XGRAD_VERSION_STRING                                                                                 \
    XGRAD_STRINGIFY(XGRAD_VERSION_MAJOR) "." XGRAD_STRINGIFY(XGRAD_VERSION_MINOR) "." XGRAD_STRINGIFY(     \
        XGRAD_VERSION_PATCH)

// XGRAD_ASSERT guards internal invariants (a broken one is a bug in xgrad, not bad user input, which gets
// a typed exception instead).  It is active unless NDEBUG is defined.
#ifdef NDEBUG
#define XGRAD_ASSERT(cond) ((void)0)
#else
#include <cstdio>
#include <cstdlib>
#define XGRAD_ASSERT(cond)                                                                                   \
    ((cond) ? (void)0                                                                                        \
            : (std::fprintf(stderr, "xgrad: internal assertion failed: %s (%s:%d)\n", #cond, __FILE__,       \
                            __LINE__),                                                                       \
               std::abort()))
#endif

// Compiled mode.  Each header lists the templates it would otherwise instantiate again in every program
// (its ops, layers and optimizers, for float and double) as a macro LIST(EXTERN, T) of explicit
// instantiations, and applies it with XGRAD_EXTERN_TEMPLATES(LIST).  Header-only (the default), that does
// nothing.  With XGRAD_COMPILED defined (the CMake target xgrad::compiled, or pkg-config's xgrad-compiled)
// the list becomes `extern template` declarations: a program's translation units take those functions from
// the xgrad_compiled library, whose sources (src/) instantiate every list once with
// XGRAD_INSTANTIATE_TEMPLATES(LIST).  An `extern template` does not stop the compiler from instantiating an
// inline function to inline it, so the heavy members of class templates are defined after their class.
#ifdef XGRAD_COMPILED
#define XGRAD_EXTERN_TEMPLATES(LIST) LIST(extern, float) LIST(extern, double)
#else
#define XGRAD_EXTERN_TEMPLATES(LIST)
#endif
#define XGRAD_INSTANTIATE_TEMPLATES(LIST) LIST(, float) LIST(, double)

namespace xgrad
{
    // The base of every options class: the setters XGRAD_OPTION declares return Derived&, the options class
    // being built, so that a chain keeps its type through a base's setters
    // (`AdamWOptions(1e-3).betas(0.9, 0.99)` is an AdamWOptions&).  A class meant to be derived from takes
    // Derived as a template parameter itself and passes it on (optim::AdamOptionsBase).
    template <class Derived>
    class ChainedOptions
    {
    protected:
        Derived& self() { return static_cast<Derived&>(*this); }
    };
}

// A chainable option, as torch's C++ options: `AdamOptions(1e-3).weight_decay(1e-2)`; `options.lr()` reads it.
// For use in a class derived from ChainedOptions.
#define XGRAD_OPTION(Type, name)                                                                             \
public:                                                                                                      \
    auto& name(const Type& value)                                                                            \
    {                                                                                                        \
        name##_ = value;                                                                                     \
        return this->self();                                                                                 \
    }                                                                                                        \
    const Type& name() const { return name##_; }                                                             \
                                                                                                             \
private:                                                                                                     \
    Type name##_
