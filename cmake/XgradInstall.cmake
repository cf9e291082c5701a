# Installation: headers, the exported target, a CMake package config and a pkg-config file.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/xgrad DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS xgrad EXPORT xgradTargets)

set(XGRAD_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/xgrad)
install(EXPORT xgradTargets NAMESPACE xgrad:: DESTINATION ${XGRAD_CMAKE_DIR})
configure_package_config_file(cmake/xgradConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/xgradConfig.cmake
    INSTALL_DESTINATION ${XGRAD_CMAKE_DIR})
# Header-only: the package fits any architecture.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/xgradConfigVersion.cmake
    COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/xgradConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/xgradConfigVersion.cmake
    cmake/XgradPrecompileHeaders.cmake
    DESTINATION ${XGRAD_CMAKE_DIR})

# The .pc file finds its prefix relative to itself, so `cmake --install --prefix <dir>` relocates it: one
# ".." for each folder of <datadir>/pkgconfig (share/pkgconfig gives ../..).
string(REPLACE "/" ";" xgrad_pc_folders "${CMAKE_INSTALL_DATADIR}/pkgconfig")
list(TRANSFORM xgrad_pc_folders REPLACE ".+" "..")
list(JOIN xgrad_pc_folders "/" XGRAD_PC_PREFIX)
configure_file(cmake/xgrad.pc.in ${CMAKE_CURRENT_BINARY_DIR}/xgrad.pc @ONLY)
# Header-only, so the .pc file goes to share/, where pkg-config looks on every architecture.
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xgrad.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
