# find_package with a configure-time error that names the Debian package to install.
macro(xgrad_require_package name version debian_package)
    find_package(${name} ${version} QUIET)
    if(NOT ${name}_FOUND)
        message(FATAL_ERROR
            "xgrad needs ${name} >= ${version}, which was not found.\n"
            "On Debian or Ubuntu: sudo apt-get install ${debian_package}\n"
            "Elsewhere, install ${name} and point CMAKE_PREFIX_PATH at it.")
    endif()
endmacro()
