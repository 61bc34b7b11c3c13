# Interface-contract tests: the promises the public interface makes, checked
# on every build (see docs/ARCHITECTURE.md, "Build and test layout").
#   contract_headers   each include/ header compiles alone as C11 and C++11
#                      (-pedantic -Werror), has extern "C", states THREAD SAFETY;
#                      the umbrella header includes them all
#   contract_exports   nm -D of libcyberagent.so == the CA_API declarations
#   contract_surface   docs/ABI.md's surface table: removed / internal names declared and
#                      exported nowhere, experimental ones only under CA_EXPERIMENTAL (a
#                      compiled probe), every fenced declaration listed, headers compile
#                      alone with CA_EXPERIMENTAL; contract_surface_selftest plants violations
#   contract_status    status codes unique, in their module block, named in status.c
#   contract_conventions options structs versioned (+ macro, _init), handles have _free
#   contract_structs   every public struct can grow: a version field (+ CA_X_VERSION), or an
#                      element size passed with every pointer to it, or a fixed byte value;
#                      none embeds a growable struct by value (STRUCT RULE, common.h);
#                      contract_structs_selftest: planted violations fail it
#   contract_defaults  every documented default of an options/params struct is a
#                      CA_<S>_<F>_DEFAULT macro that init writes (C probe against
#                      the built library); values written beside a default's name in
#                      the headers and docs/*.md are the macro's
#   contract_defaults_selftest  check_defaults fails on each planted contradiction
#   contract_readme_N  the README's ```c blocks, compiled and run
#   contract_quickstart the README's Quick start: one ```sh block, two commands
#   contract_doc_tests every test docs/SECURITY.md cites exists
#   contract_layers    no module of lib/ uses one above it (the order: docs/ARCHITECTURE.md,
#                      "Layers"); contract_layers_selftest: planted violations fail it
#   contract_install   cmake --install, then find_package and pkg-config consumers
find_package(Python3 COMPONENTS Interpreter QUIET)
set(CA_CONTRACT_DIR ${PROJECT_SOURCE_DIR}/tests/contract)
set(CA_CONTRACT_DEFINES)
if(CA_EXPERIMENTAL)
  list(APPEND CA_CONTRACT_DEFINES --define CA_EXPERIMENTAL)
endif()

if(Python3_Interpreter_FOUND)
  # C++ compiler of the same family as the C compiler, found without enabling CXX.
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    find_program(CA_CONTRACT_CXX NAMES clang++ c++ g++)
  else()
    find_program(CA_CONTRACT_CXX NAMES g++ c++ clang++)
  endif()
  if(NOT CA_CONTRACT_CXX)
    message(WARNING "no C++ compiler: contract_headers checks C11 only")
    set(CA_CONTRACT_CXX "")
  endif()
  add_test(NAME contract_headers
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_headers.py
      --include ${PROJECT_SOURCE_DIR}/include --cc ${CMAKE_C_COMPILER} --cxx "${CA_CONTRACT_CXX}"
      ${CA_CONTRACT_DEFINES})
  add_test(NAME contract_exports
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_exports.py
      --lib $<TARGET_FILE:cyberagent> --include ${PROJECT_SOURCE_DIR}/include
      --cc ${CMAKE_C_COMPILER} --nm ${CMAKE_NM} ${CA_CONTRACT_DEFINES})
  set(CA_SURFACE_ARGS --root ${PROJECT_SOURCE_DIR} --cc ${CMAKE_C_COMPILER})
  set(CA_SURFACE_BUILD)
  if(CA_EXPERIMENTAL)
    set(CA_SURFACE_BUILD --experimental-build)
  endif()
  add_test(NAME contract_surface
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_surface.py ${CA_SURFACE_ARGS}
      --cxx "${CA_CONTRACT_CXX}" --lib $<TARGET_FILE:cyberagent> --nm ${CMAKE_NM}
      ${CA_SURFACE_BUILD})
  add_test(NAME contract_surface_selftest
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_surface.py ${CA_SURFACE_ARGS} --self-test)
  add_test(NAME contract_status
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_status.py
      ${PROJECT_SOURCE_DIR}/include/cyberagent/common.h ${PROJECT_SOURCE_DIR}/lib/core/status.c)
  add_test(NAME contract_conventions
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_conventions.py ${PROJECT_SOURCE_DIR}/include)
  set(CA_DEFAULTS_CFLAGS "")
  if(CA_SANITIZE)
    set(CA_DEFAULTS_CFLAGS "-fsanitize=address,undefined")
  endif()
  add_test(NAME contract_defaults
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_defaults.py
      --include ${PROJECT_SOURCE_DIR}/include --lib $<TARGET_FILE:cyberagent>
      --cc ${CMAKE_C_COMPILER} "--cflags=${CA_DEFAULTS_CFLAGS}" --docs ${PROJECT_SOURCE_DIR}/docs)
  add_test(NAME contract_defaults_selftest
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/test_check_defaults.py ${PROJECT_SOURCE_DIR}
      $<TARGET_FILE:cyberagent> ${CMAKE_C_COMPILER} "${CA_DEFAULTS_CFLAGS}")
  add_test(NAME contract_quickstart
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_readme.py ${PROJECT_SOURCE_DIR}/README.md)
  add_test(NAME contract_doc_tests
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_doc_tests.py ${PROJECT_SOURCE_DIR}
      docs/SECURITY.md)
  add_test(NAME contract_layers
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_layers.py --root ${PROJECT_SOURCE_DIR})
  add_test(NAME contract_layers_selftest
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_layers.py --self-test)
  add_test(NAME contract_structs
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_structs.py --include ${PROJECT_SOURCE_DIR}/include)
  add_test(NAME contract_structs_selftest
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_structs.py --self-test)
  add_test(NAME contract_last_error
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_last_error.py --root ${PROJECT_SOURCE_DIR})
  add_test(NAME contract_last_error_selftest
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_last_error.py --self-test)
else()
  message(WARNING "python3 not found: contract_headers, _exports, _status, _quickstart, _layers not registered")
endif()

# README examples: every ```c block becomes an executable linked against the
# shared library through the public headers only, built with the project's
# warnings, and run as a test. Editing README.md re-runs the configure step.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/README.md)
file(READ ${PROJECT_SOURCE_DIR}/README.md ca_readme)
set(ca_readme_n 0)
while(TRUE)
  string(FIND "${ca_readme}" "```c\n" ca_pos)
  if(ca_pos EQUAL -1)
    break()
  endif()
  math(EXPR ca_pos "${ca_pos} + 5")
  string(SUBSTRING "${ca_readme}" ${ca_pos} -1 ca_readme)
  string(FIND "${ca_readme}" "```" ca_end)
  if(ca_end EQUAL -1)
    message(FATAL_ERROR "README.md: unterminated ```c block")
  endif()
  string(SUBSTRING "${ca_readme}" 0 ${ca_end} ca_code)
  math(EXPR ca_readme_n "${ca_readme_n} + 1")
  set(ca_src ${CMAKE_CURRENT_BINARY_DIR}/readme_example_${ca_readme_n}.c)
  # Write through a temporary file so an unchanged block does not rebuild.
  file(WRITE ${ca_src}.tmp "${ca_code}")
  configure_file(${ca_src}.tmp ${ca_src} COPYONLY)
  add_executable(readme_example_${ca_readme_n} ${ca_src})
  target_link_libraries(readme_example_${ca_readme_n} PRIVATE cyberagent)
  add_test(NAME contract_readme_${ca_readme_n} COMMAND readme_example_${ca_readme_n})
endwhile()
if(ca_readme_n EQUAL 0)
  message(SEND_ERROR "README.md has no ```c example block")
endif()

# Install into a scratch prefix and build downstream consumers.
set(CA_CONTRACT_CFLAGS "")
if(CA_SANITIZE)
  set(CA_CONTRACT_CFLAGS "-fsanitize=address,undefined")
endif()
add_test(NAME contract_install
  COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/contract_install -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
    -DC_COMPILER=${CMAKE_C_COMPILER} "-DC_FLAGS=${CA_CONTRACT_CFLAGS}"
    -P ${CA_CONTRACT_DIR}/install_test.cmake)

# contract_wire_tables: the field tables in docs/ (envelope, card, task bodies,
# ledger op) are printed from the rows lib/wire encodes and decodes with.
add_executable(wire-tables ${CA_CONTRACT_DIR}/wire_tables.c)
target_link_libraries(wire-tables PRIVATE cyberagent_internal)
if(Python3_Interpreter_FOUND)
  add_test(NAME contract_wire_tables
    COMMAND Python3::Interpreter ${CA_CONTRACT_DIR}/check_wire_tables.py
      --gen $<TARGET_FILE:wire-tables> --docs ${PROJECT_SOURCE_DIR}/docs)
endif()
