# The program every consumer project builds (train_linear_regression.cpp), linked the way its project asks:
# header-only through xgrad::xgrad, with the precompiled-header helper the package defines, or with
# XGRAD_CONSUMER_COMPILED through xgrad::compiled (and a check, in the program, that it is compiled mode).
add_executable(consumer ${CMAKE_CURRENT_LIST_DIR}/train_linear_regression.cpp)
if(XGRAD_CONSUMER_COMPILED)
    target_link_libraries(consumer PRIVATE xgrad::compiled)
    target_compile_definitions(consumer PRIVATE XGRAD_CONSUMER_EXPECTS_COMPILED)
else()
    target_link_libraries(consumer PRIVATE xgrad::xgrad)
    xgrad_precompile_headers(consumer)
endif()
