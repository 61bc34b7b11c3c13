# lint_format: clang-format --dry-run -Werror over every C file, as a ctest so
# that `ctest --preset dev` (run before every landing) catches what
# tests/run.d/05-lint.sh would reject. cppcheck and clang-tidy stay in that
# script: they take longer. Registered in the dev preset only.
find_program(CA_CLANG_FORMAT clang-format)
if(CA_CLANG_FORMAT AND CMAKE_BUILD_TYPE STREQUAL "Debug")
  file(GLOB_RECURSE CA_LINT_FILES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/include/*.h ${PROJECT_SOURCE_DIR}/lib/*.[ch]
    ${PROJECT_SOURCE_DIR}/tests/*.[ch] ${PROJECT_SOURCE_DIR}/examples/*.[ch])
  add_test(NAME lint_format COMMAND ${CA_CLANG_FORMAT} --dry-run -Werror ${CA_LINT_FILES})
endif()
