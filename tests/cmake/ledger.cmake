# Long crash-safety run of the ledger (thousands of SIGKILL trials); not in the
# default suite. Run it with: ctest --preset dev -C long -R test_ledger_crash_long
add_test(NAME test_ledger_crash_long CONFIGURATIONS long COMMAND test_ledger_crash)
set_tests_properties(test_ledger_crash_long PROPERTIES
  ENVIRONMENT "CA_LEDGER_CRASH_TRIALS=3000" LABELS long TIMEOUT 3600)
