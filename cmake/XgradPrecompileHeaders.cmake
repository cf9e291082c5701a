# xgrad_precompile_headers(<target>): parse <xgrad/xgrad.hpp> once for all of <target>'s C++ sources instead
# of once per source, through CMake's precompiled headers (3.16 or later).  Defined for every way a project
# takes xgrad: find_package, add_subdirectory and FetchContent.  It saves the parsing, not the instantiation
# of the templates a source uses; README.md has the measured effect.
function(xgrad_precompile_headers target)
    target_precompile_headers(${target} PRIVATE <xgrad/xgrad.hpp>)
endfunction()
