# nrm_target(NAME [TEST_CODE]): the warnings and sanitizer flags every target of ours gets.
# TEST_CODE: under NRM_SANITIZE, the target's own files are compiled without the sanitizers'
# instrumentation (they are linked with their runtime): what the sanitizers guard is the code
# under test, in the libraries and the programs the tests start, all instrumented; test files,
# heavy with GoogleTest, took twice as long to compile instrumented (22 s against 10 s for
# tests/agent/delivery_test.cc), a third of the sanitizer build.
function(nrm_target name)
  cmake_parse_arguments(T "TEST_CODE" "" "" ${ARGN})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion)
  if(NRM_WERROR)
    target_compile_options(${name} PRIVATE -Werror)
  endif()
  if(NRM_SANITIZE AND T_TEST_CODE)
    # The tests ask `#if defined(NRM_SANITIZED)` to skip the bounds ASan's memory makes moot.
    target_compile_definitions(${name} PRIVATE NRM_SANITIZED)
    target_link_options(${name} PRIVATE -fsanitize=address,undefined)
  elseif(NRM_SANITIZE)
    # ASan's instrumentation makes GCC 12 warn about uninitialised members inside <regex> and
    # <functional> that are not (false positives); they must not fail a -Werror build.
    # -O1, as ASan's authors advise: GCC 12 takes twice as long to compile a file with both
    # sanitizers at -O2 (30 s against 14.5 s for broker/admission.cc, with -g and -g1).
    target_compile_options(${name} PRIVATE -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
                                           -fno-sanitize-recover=undefined
                                           -Wno-maybe-uninitialized)
    target_link_options(${name} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# nrm_test(NAME [SERIAL] SOURCES... LIBS ...): one GoogleTest binary, discovered test by test.
# SERIAL: its tests run alone (they load both cores, and others measure deadlines).
function(nrm_test name)
  cmake_parse_arguments(T "SERIAL" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main)
  nrm_target(${name} TEST_CODE)
  set(serial FALSE)
  if(T_SERIAL)
    set(serial TRUE)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30
                       PROPERTIES ENVIRONMENT "NRM_BIN_DIR=${CMAKE_BINARY_DIR}/bin" TIMEOUT 300
                                  RUN_SERIAL ${serial})
endfunction()
