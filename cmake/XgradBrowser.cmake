# Browser checks (tests only): an HTML page opened in headless Chromium (Debian's chromium) by
# tests/browser/check_page.js, on puppeteer-core (npm, pinned by tests/browser/package-lock.json, installed
# into tests/browser/node_modules by scripts/install-deps.sh; it drives the browser and downloads none). A page
# fails its check on a console error, an uncaught exception or a failed request. Without chromium, node or
# puppeteer-core the checks are skipped, with a message.
find_program(XGRAD_CHROMIUM NAMES chromium chromium-browser)
find_program(XGRAD_NODE node)
set(XGRAD_BROWSER_CHECKER ${PROJECT_SOURCE_DIR}/tests/browser/check_page.js)
set(XGRAD_HAS_BROWSER_CHECKS OFF)
if(NOT XGRAD_CHROMIUM)
    message(STATUS "xgrad: chromium not found (scripts/install-deps.sh installs it): browser checks skipped")
elseif(NOT XGRAD_NODE OR NOT EXISTS ${PROJECT_SOURCE_DIR}/tests/browser/node_modules/puppeteer-core/package.json)
    message(STATUS "xgrad: node or puppeteer-core (tests/browser/node_modules) not found "
                   "(scripts/install-deps.sh installs both): browser checks skipped")
else()
    set(XGRAD_HAS_BROWSER_CHECKS ON)
endif()

# xgrad_add_browser_check(<test> FILE <page.html> [SCREENSHOT <out.png>] [ARGS <check_page.js options>...]):
# a test (label "browser") that the page passes check_page.js; nothing when the checks are skipped. The test
# that writes the page can be named as a fixture: set_tests_properties(<test> PROPERTIES FIXTURES_REQUIRED ...).
function(xgrad_add_browser_check name)
    cmake_parse_arguments(CHECK "" "FILE;SCREENSHOT" "ARGS" ${ARGN})
    if(NOT XGRAD_HAS_BROWSER_CHECKS)
        return()
    endif()
    set(screenshot "")
    if(CHECK_SCREENSHOT)
        set(screenshot --screenshot ${CHECK_SCREENSHOT})
    endif()
    add_test(NAME ${name}
        COMMAND ${XGRAD_NODE} ${XGRAD_BROWSER_CHECKER} --browser ${XGRAD_CHROMIUM} --file ${CHECK_FILE} ${screenshot}
                ${CHECK_ARGS})
    set_tests_properties(${name} PROPERTIES LABELS browser TIMEOUT 60 SKIP_RETURN_CODE 77)
endfunction()
