# xgrad::onnx: io::export_onnx (include/xgrad/onnx.hpp), written with the ONNX project's protobuf messages from
# Debian's libonnx-dev (onnx/onnx_pb.h, generated with protobuf 3.21) and Debian's libprotobuf-dev. The one
# target that links protobuf, so that nothing else in xgrad does. Optional: without the packages it is skipped.
find_package(Protobuf QUIET)
find_package(ONNX CONFIG QUIET)
if(Protobuf_FOUND AND TARGET onnx_proto)
    add_library(xgrad_onnx STATIC ${PROJECT_SOURCE_DIR}/src/onnx/export.cpp)
    add_library(xgrad::onnx ALIAS xgrad_onnx)
    if(NOT XGRAD_IS_TOP_LEVEL)   # a parent project builds it only when one of its targets links it
        set_target_properties(xgrad_onnx PROPERTIES EXCLUDE_FROM_ALL ON)
    endif()
    target_link_libraries(xgrad_onnx PUBLIC ${XGRAD_PROJECT_LIBRARY} PRIVATE onnx_proto protobuf::libprotobuf)
    set(XGRAD_HAS_ONNX ON)
    # ONNX Runtime, for the checks and example 12: node and onnxruntime-node in tests/onnx/node_modules.
    find_program(XGRAD_NODE node)
    if(XGRAD_NODE AND EXISTS ${PROJECT_SOURCE_DIR}/tests/onnx/node_modules/onnxruntime-node/package.json)
        set(XGRAD_HAS_ONNX_RUNTIME ON)
    else()
        set(XGRAD_HAS_ONNX_RUNTIME OFF)
        message(STATUS "xgrad: node or onnxruntime-node (tests/onnx/node_modules) not found "
                       "(scripts/install-deps.sh installs both): the ONNX Runtime check and example 12's smoke run skipped")
    endif()
    set(XGRAD_ONNX_RUNNER ${PROJECT_SOURCE_DIR}/tests/onnx/run_onnx.js)
    message(STATUS "xgrad: ONNX export (xgrad::onnx) with libonnx ${ONNX_VERSION} and protobuf ${Protobuf_VERSION}")
else()
    set(XGRAD_HAS_ONNX OFF)
    set(XGRAD_HAS_ONNX_RUNTIME OFF)
    message(STATUS "xgrad: libonnx-dev or libprotobuf-dev not found: ONNX export (xgrad::onnx), its test and "
                   "example 12 skipped")
endif()
