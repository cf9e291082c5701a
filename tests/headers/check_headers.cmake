# cmake -DCOMPILER=<c++> -DINCLUDE_DIR=<include> -DHEADERS="xgrad/a.hpp;..." [-DFORBIDDEN="zlib.h;nlohmann/"]
#       [-DCOMPILED=ON] [-DEXTRA_INCLUDE_DIRS="dir;..."] -P check_headers.cmake
# Compiles each header on its own (a translation unit that is just the header: it must include what it
# uses); with COMPILED, a second time as compiled mode sees it (its `extern template` list too).  With FORBIDDEN, also fails when a header pulls in a file whose path holds one of those strings
# (the umbrella headers' promises, docs/design.md "Umbrella headers and dependencies").
foreach(variable COMPILER INCLUDE_DIR HEADERS)
    if(NOT ${variable})
        message(FATAL_ERROR "check_headers.cmake needs -D${variable}=...")
    endif()
endforeach()

# compile_header(<header> <how> <flags...>): compiles the header alone with the flags added, leaves the
# compiler's messages in `output`, and sets `ok`; on failure it appends the errors to `failures`, described as
# "<header> does not compile on its own<how>".
set(extra_flags "")
foreach(directory ${EXTRA_INCLUDE_DIRS})
    list(APPEND extra_flags -I${directory})
endforeach()
function(compile_header header how)
    execute_process(
        COMMAND ${COMPILER} -std=c++17 -fsyntax-only -Wall -Wextra -DXTENSOR_USE_XSIMD -I${INCLUDE_DIR} ${extra_flags} ${ARGN}
                -x c++ ${INCLUDE_DIR}/${header}
        RESULT_VARIABLE result ERROR_VARIABLE messages)
    set(output "${messages}" PARENT_SCOPE)
    set(ok TRUE PARENT_SCOPE)
    if(NOT result EQUAL 0)
        string(REGEX MATCHALL "[^\n]*: error:[^\n]*" errors "${messages}")
        list(JOIN errors "\n    " errors)
        set(failures "${failures}  ${header} does not compile on its own${how}:\n    ${errors}\n" PARENT_SCOPE)
        set(ok FALSE PARENT_SCOPE)
    endif()
endfunction()

set(failures "")
foreach(header ${HEADERS})
    if(COMPILED)
        compile_header(${header} " in compiled mode" -DXGRAD_COMPILED)
    endif()
    compile_header(${header} "" -H)
    if(NOT ok)
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
