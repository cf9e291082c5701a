# Installation: headers, the exported targets, a CMake package config and pkg-config files.  With
# XGRAD_BUILD_COMPILED, also the xgrad_compiled library, the target xgrad::compiled (the package's component
# "compiled") and xgrad-compiled.pc.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/xgrad DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS xgrad EXPORT xgradTargets)
if(TARGET xgrad_compiled)
    install(TARGETS xgrad_compiled EXPORT xgradTargets)
endif()
# xgrad::distributed (when MPI was found): the package's component "distributed", which finds MPI again.
if(TARGET xgrad_distributed)
    set_target_properties(xgrad_distributed PROPERTIES EXPORT_NAME distributed)
    install(TARGETS xgrad_distributed EXPORT xgradTargets)
endif()
# xgrad::linalg (when xtensor-blas was found): the package's component "linalg", which finds xtensor-blas again.
if(TARGET xgrad_linalg)
    set_target_properties(xgrad_linalg PROPERTIES EXPORT_NAME linalg)
    install(TARGETS xgrad_linalg EXPORT xgradTargets)
endif()

set(XGRAD_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/xgrad)
install(EXPORT xgradTargets NAMESPACE xgrad:: DESTINATION ${XGRAD_CMAKE_DIR})
configure_package_config_file(cmake/xgradConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/xgradConfig.cmake
    INSTALL_DESTINATION ${XGRAD_CMAKE_DIR})
# Header-only, the package fits any architecture; with the compiled library, only this one.
if(TARGET xgrad_compiled)
    set(xgrad_architecture "")
else()
    set(xgrad_architecture ARCH_INDEPENDENT)
endif()
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/xgradConfigVersion.cmake
    COMPATIBILITY SameMinorVersion ${xgrad_architecture})
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/xgradConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/xgradConfigVersion.cmake
    cmake/XgradPrecompileHeaders.cmake
    DESTINATION ${XGRAD_CMAKE_DIR})

# A .pc file finds its prefix relative to itself, so `cmake --install --prefix <dir>` relocates it: one
# ".." for each folder of the directory it is installed in (share/pkgconfig gives ../..).
function(xgrad_relative_prefix directory out)
    string(REPLACE "/" ";" folders "${directory}")
    list(TRANSFORM folders REPLACE ".+" "..")
    list(JOIN folders "/" relative)
    set(${out} "${relative}" PARENT_SCOPE)
endfunction()
xgrad_relative_prefix("${CMAKE_INSTALL_DATADIR}/pkgconfig" XGRAD_PC_PREFIX)
configure_file(cmake/xgrad.pc.in ${CMAKE_CURRENT_BINARY_DIR}/xgrad.pc @ONLY)
# Header-only, so xgrad.pc goes to share/, where pkg-config looks on every architecture; xgrad-compiled.pc
# goes beside its library.
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xgrad.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
if(TARGET xgrad_compiled)
    xgrad_relative_prefix("${CMAKE_INSTALL_LIBDIR}/pkgconfig" XGRAD_PC_PREFIX)
    configure_file(cmake/xgrad-compiled.pc.in ${CMAKE_CURRENT_BINARY_DIR}/xgrad-compiled.pc @ONLY)
    install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xgrad-compiled.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
