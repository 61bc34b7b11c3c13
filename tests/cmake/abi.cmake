# abi_compat: the built shared library against the checked-in baseline
# tests/abi/<SONAME>.abi (docs/ABI.md). Needs abidiff (Debian abigail-tools) and
# debug info, so it runs in the dev and asan presets, not in release.
find_program(CA_ABIDIFF abidiff)
find_program(CA_BASH bash)
if(CA_ABIDIFF AND CA_BASH AND CMAKE_BUILD_TYPE MATCHES "^(Debug|RelWithDebInfo)$")
  add_test(NAME abi_compat
    COMMAND ${CA_BASH} ${PROJECT_SOURCE_DIR}/tests/abi/check.sh $<TARGET_FILE:cyberagent>
      ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests/abi)
elseif(NOT CA_ABIDIFF)
  message(STATUS "abidiff not found (Debian: abigail-tools): abi_compat not registered")
endif()
