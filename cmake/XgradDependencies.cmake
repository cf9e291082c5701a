# find_package with a configure-time error that names the Debian package to install.
macro(xgrad_require_package name version debian_package)
    find_package(${name} ${version} QUIET)
    if(NOT ${name}_FOUND)
        # Look again without the version, only to say in the error what is there instead.
        find_package(${name} QUIET)
        if(${name}_FOUND)
            set(_xgrad_found_note "found version ${${name}_VERSION} in ${${name}_DIR}, which does not match")
        else()
            set(_xgrad_found_note "it was not found")
        endif()
        message(FATAL_ERROR
            "xgrad needs ${name} ${version} (${_xgrad_found_note}).\n"
            "On Debian 12 or Ubuntu: sudo apt-get install ${debian_package}\n"
            "  (or run scripts/install-deps.sh from xgrad's source tree)\n"
            "Elsewhere, install ${name} ${version} and point CMAKE_PREFIX_PATH at it.")
    endif()
endmacro()
