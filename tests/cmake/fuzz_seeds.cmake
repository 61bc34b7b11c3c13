# The generator of the ledger fuzz seeds (tests/fuzz/gen_ledger_seeds.c). Its output is
# deterministic, so the ctest fuzz_seeds_ledger_current fails when a format change leaves a
# committed seed stale; regenerate with `<build>/tests/gen_ledger_seeds tests/fuzz/corpus`.
add_executable(gen_ledger_seeds ${PROJECT_SOURCE_DIR}/tests/fuzz/gen_ledger_seeds.c)
target_include_directories(gen_ledger_seeds PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz
                                                    ${PROJECT_SOURCE_DIR}/tests/unit)
target_link_libraries(gen_ledger_seeds PRIVATE cyberagent_internal)
target_compile_definitions(gen_ledger_seeds PRIVATE _POSIX_C_SOURCE=200809L)
add_test(NAME fuzz_seeds_ledger_current
         COMMAND gen_ledger_seeds --check ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus)
