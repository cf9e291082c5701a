# cmake -DBUILD_DIR=<xgrad build> -DPREFIX=<dir> -DCONFIG=<config> [-DCOMPILED_FILES=<lib;pc>]
#       -P install_into.cmake
# Installs xgrad from BUILD_DIR into a fresh PREFIX (emptied first, so a stale install cannot pass the test),
# and checks the files are there (COMPILED_FILES too: the compiled mode's library and .pc file).
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" --config "${CONFIG}"
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "cmake --install failed (${result})")
endif()
foreach(file include/xgrad/xgrad.hpp share/cmake/xgrad/xgradConfig.cmake
             share/cmake/xgrad/xgradConfigVersion.cmake share/cmake/xgrad/xgradTargets.cmake
             share/pkgconfig/xgrad.pc ${COMPILED_FILES})
    if(NOT EXISTS "${PREFIX}/${file}")
        message(FATAL_ERROR "cmake --install did not install ${file}")
    endif()
endforeach()
