# Replays every fuzz target's corpus through a plain driver (no libFuzzer), so
# the corpora are regression tests under gcc and the asan preset too.
# tests/fuzz/fuzz_<name>.c -> executable replay_<name>, ctest fuzz_replay_<name>
# over tests/fuzz/corpus/<name>/. New targets are picked up by the glob.
set(CA_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)
file(GLOB CA_FUZZ_TARGETS CONFIGURE_DEPENDS ${CA_FUZZ_DIR}/fuzz_*.c)
foreach(src IN LISTS CA_FUZZ_TARGETS)
  get_filename_component(target ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" name ${target})
  add_executable(replay_${name} ${src} ${CA_FUZZ_DIR}/replay_main.c)
  target_include_directories(replay_${name} PRIVATE ${CA_FUZZ_DIR})
  target_link_libraries(replay_${name} PRIVATE cyberagent_internal)
  target_compile_definitions(replay_${name} PRIVATE _POSIX_C_SOURCE=200809L)
  if(name MATCHES "^replica_") # examples/replica's NATS-free sources (tests/fuzz/CMakeLists.txt)
    target_sources(replay_${name} PRIVATE ${PROJECT_SOURCE_DIR}/examples/replica/replica_core.c
                                          ${PROJECT_SOURCE_DIR}/examples/replica/cpformat.c)
    target_include_directories(replay_${name} PRIVATE ${PROJECT_SOURCE_DIR}/examples/replica)
  endif()
  if(NOT IS_DIRECTORY ${CA_FUZZ_DIR}/corpus/${name})
    message(SEND_ERROR "fuzz target ${target}: seed corpus tests/fuzz/corpus/${name}/ is missing")
  endif()
  add_test(NAME fuzz_replay_${name} COMMAND replay_${name} ${CA_FUZZ_DIR}/corpus/${name})
endforeach()
