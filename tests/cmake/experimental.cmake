# test_experimental: the experimental API (docs/ABI.md) through the public headers.
# The default library leaves the fenced code out, so this test compiles the library
# sources that hold `#ifdef CA_EXPERIMENTAL` code again with the macro and links them
# ahead of the static library: the linker then takes those objects (a superset of the
# archive's members of the same sources) and the archive for everything else.
file(GLOB_RECURSE CA_EXPERIMENTAL_CANDIDATES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/lib/*.c)
set(CA_EXPERIMENTAL_SOURCES)
foreach(src IN LISTS CA_EXPERIMENTAL_CANDIDATES)
  file(STRINGS ${src} _ca_fence REGEX "^#if(def)? .*CA_EXPERIMENTAL")
  if(_ca_fence)
    list(APPEND CA_EXPERIMENTAL_SOURCES ${src})
  endif()
endforeach()
if(NOT CA_EXPERIMENTAL_SOURCES)
  message(SEND_ERROR "no lib/ source holds CA_EXPERIMENTAL code: drop test_experimental")
endif()
add_library(cyberagent_experimental_objects OBJECT ${CA_EXPERIMENTAL_SOURCES})
set_target_properties(cyberagent_experimental_objects PROPERTIES
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
target_include_directories(cyberagent_experimental_objects PRIVATE
  ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/lib)
target_compile_definitions(cyberagent_experimental_objects PRIVATE
  CA_BUILDING_LIBRARY CA_EXPERIMENTAL _POSIX_C_SOURCE=200809L)
target_link_libraries(cyberagent_experimental_objects PRIVATE
  PkgConfig::SODIUM PkgConfig::MSGPACK PkgConfig::ZSTD)

add_executable(test_experimental ${CMAKE_CURRENT_SOURCE_DIR}/experimental/test_experimental.c
  $<TARGET_OBJECTS:cyberagent_experimental_objects>)
target_compile_definitions(test_experimental PRIVATE CA_EXPERIMENTAL _POSIX_C_SOURCE=200809L)
target_include_directories(test_experimental PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(test_experimental PRIVATE cyberagent_internal PkgConfig::CMOCKA)
add_test(NAME test_experimental COMMAND test_experimental)
