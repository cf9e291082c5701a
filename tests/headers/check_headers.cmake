# cmake -DCOMPILER=<c++> -DINCLUDE_DIR=<include> -DHEADERS="xgrad/a.hpp;..." [-DFORBIDDEN="zlib.h;nlohmann/"]
#       [-DCOMPILED=ON] -P check_headers.cmake
# Compiles each header on its own (a translation unit that is just the header: it must include what it
# uses); with COMPILED, a second time as compiled mode sees it (its `extern template` list too).  With FORBIDDEN, also fails when a header pulls in a file whose path holds one of those strings
# (the umbrella headers' promises, docs/design.md "Umbrella headers and dependencies").
foreach(variable COMPILER INCLUDE_DIR HEADERS)
    if(NOT ${variable})
        message(FATAL_ERROR "check_headers.cmake needs -D${variable}=...")
    endif()
endforeach()

set(failures "")
foreach(header ${HEADERS})
    if(COMPILED)
        execute_process(
            COMMAND ${COMPILER} -std=c++17 -fsyntax-only -Wall -Wextra -DXTENSOR_USE_XSIMD -DXGRAD_COMPILED
                    -I${INCLUDE_DIR} -x c++ ${INCLUDE_DIR}/${header}
            RESULT_VARIABLE result ERROR_VARIABLE output)
        if(NOT result EQUAL 0)
            string(REGEX MATCHALL "[^\n]*: error:[^\n]*" errors "${output}")
            list(JOIN errors "\n    " errors)
            string(APPEND failures "  ${header} does not compile on its own in compiled mode:\n    ${errors}\n")
        endif()
    endif()
    execute_process(
        COMMAND ${COMPILER} -std=c++17 -fsyntax-only -Wall -Wextra -DXTENSOR_USE_XSIMD -I${INCLUDE_DIR} -H
                -x c++ ${INCLUDE_DIR}/${header}
        RESULT_VARIABLE result ERROR_VARIABLE output)
    if(NOT result EQUAL 0)
        string(REGEX MATCHALL "[^\n]*: error:[^\n]*" errors "${output}")
        list(JOIN errors "\n    " errors)
        string(APPEND failures "  ${header} does not compile on its own:\n    ${errors}\n")
        continue()
    endif()
    # -H lists every file the header includes, one per line, behind dots that give the depth.
    foreach(forbidden ${FORBIDDEN})
        string(REGEX MATCH "\\.+ [^\n]*${forbidden}[^\n]*" pulled "${output}")
        if(pulled)
            string(APPEND failures "  ${header} pulls in ${forbidden}: ${pulled}\n")
        endif()
    endforeach()
    message(STATUS "${header}: ok")
endforeach()
if(failures)
    message(FATAL_ERROR "header checks failed:\n${failures}")
endif()
