# Runs one tutorial program and checks it against docs/tutorial.md: every line of every output block the
# tutorial shows for it must appear in what the program prints, in order and exactly (trailing blanks
# aside); the program may print more. A block is a ``` fence right after a line <!-- output: <program> -->.
#   cmake -DPROGRAM=<executable> -DNAME=<program> -DTUTORIAL=<tutorial.md> -DEXAMPLES_DIR=<docs/examples>
#         -P check_output.cmake
cmake_minimum_required(VERSION 3.16)   # quoted if() arguments are strings, not variable names (CMP0054)

foreach(argument PROGRAM NAME TUTORIAL EXAMPLES_DIR)
    if(NOT DEFINED ${argument})
        message(FATAL_ERROR "check_output.cmake needs -D${argument}=...")
    endif()
endforeach()

# Text to a list of lines without trailing blanks. ';', '[', ']' and '\' are replaced by placeholders first:
# CMake's lists would split on the first, group by the next two and escape with the last.
function(xgrad_split_lines text out)
    string(REPLACE "\r" "" text "${text}")
    string(REPLACE "\\" "<backslash>" text "${text}")
    string(REPLACE ";" "<semicolon>" text "${text}")
    string(REPLACE "[" "<lbracket>" text "${text}")
    string(REPLACE "]" "<rbracket>" text "${text}")
    string(REGEX REPLACE "[ \t]+\n" "\n" text "${text}")
    string(REGEX REPLACE "[ \t]+$" "" text "${text}")
    string(REPLACE "\n" ";" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(xgrad_unescape line out)
    string(REPLACE "<semicolon>" ";" line "${line}")
    string(REPLACE "<lbracket>" "[" line "${line}")
    string(REPLACE "<rbracket>" "]" line "${line}")
    string(REPLACE "<backslash>" "\\" line "${line}")
    set(${out} "${line}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND ${PROGRAM} OUTPUT_VARIABLE printed ERROR_VARIABLE printed_errors RESULT_VARIABLE status)
if(NOT status STREQUAL "0")
    string(REPLACE "\n" "\n  " output "  ${printed}${printed_errors}")   # indented: CMake does not reflow it
    message(FATAL_ERROR "${NAME} failed (${status}):\n${output}")
endif()
xgrad_split_lines("${printed}" printed_lines)
list(LENGTH printed_lines printed_count)

file(READ ${TUTORIAL} tutorial_text)
xgrad_split_lines("${tutorial_text}" tutorial_lines)

# States: text, fence (a code block that is not an output block), marker (the line after a marker),
# output (inside an output block, of block_name).
set(state text)
set(number 0)             # the current line of tutorial.md
set(shown 0)              # lines shown for NAME so far
set(next_printed 0)       # the first printed line not yet matched
set(last_match "")        # tutorial.md line of the last matched shown line
foreach(line IN LISTS tutorial_lines)
    math(EXPR number "${number} + 1")
    if(state STREQUAL "output")
        if("${line}" STREQUAL "```")
            set(state text)
        elseif(block_name STREQUAL NAME)
            math(EXPR shown "${shown} + 1")
            set(found OFF)
            while(next_printed LESS printed_count)
                list(GET printed_lines ${next_printed} candidate)
                math(EXPR next_printed "${next_printed} + 1")
                if("${candidate}" STREQUAL "${line}")
                    set(found ON)
                    break()
                endif()
            endwhile()
            if(NOT found)
                xgrad_unescape("${line}" line)
                if(last_match)
                    set(after " after the line it shows at line ${last_match}")
                endif()
                string(REPLACE "\n" "\n  " printed "  ${printed}")
                message(FATAL_ERROR "${TUTORIAL}:${number}: the tutorial shows\n  ${line}\nwhich ${NAME} does "
                                    "not print${after}. ${NAME} printed:\n${printed}")
            endif()
            set(last_match ${number})
        endif()
    elseif(state STREQUAL "fence")
        if("${line}" STREQUAL "```")
            set(state text)
        endif()
    elseif(state STREQUAL "marker")
        if(NOT "${line}" MATCHES "^```[a-z]*$")
            message(FATAL_ERROR "${TUTORIAL}:${number}: the line after <!-- output: ${block_name} --> must open a ``` block")
        endif()
        set(state output)
    elseif("${line}" MATCHES "^```")
        set(state fence)
    elseif("${line}" MATCHES "^<!-- output: ([A-Za-z0-9_]+) -->$")
        set(block_name ${CMAKE_MATCH_1})
        if(NOT EXISTS ${EXAMPLES_DIR}/${block_name}.cpp)
            message(FATAL_ERROR "${TUTORIAL}:${number}: no program ${EXAMPLES_DIR}/${block_name}.cpp")
        endif()
        set(state marker)
    elseif("${line}" MATCHES "<!-- *output")
        message(FATAL_ERROR "${TUTORIAL}:${number}: write an output marker as <!-- output: <program> -->")
    endif()
endforeach()
if(NOT state STREQUAL "text")
    message(FATAL_ERROR "${TUTORIAL}: a ``` block is not closed")
endif()
if(shown EQUAL 0)
    message(FATAL_ERROR "${TUTORIAL} shows no output of ${NAME}: put <!-- output: ${NAME} --> on the line "
                        "before the ``` block that shows it")
endif()
message(STATUS "${NAME}: all ${shown} lines ${TUTORIAL} shows are printed, in order")
