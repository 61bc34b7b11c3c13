# Install test (cmake -P): installs the build into a scratch prefix, then
# builds and runs a downstream program three ways: find_package(cyberagent
# CONFIG) with cyberagent::cyberagent and cyberagent::cyberagent_static, and
# plain `cc $(pkg-config --cflags --libs cyberagent)`.
# Inputs: BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR C_COMPILER C_FLAGS
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR C_COMPILER)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "install_test.cmake: ${v} not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/cyberagent.h ${LIBDIR}/pkgconfig/cyberagent.pc
    ${LIBDIR}/cmake/cyberagent/cyberagentConfig.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()

# 1. CMake package.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/contract/consumer -B ${WORK_DIR}/cmake
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER}
  "-DCMAKE_C_FLAGS=${C_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${C_FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake)
foreach(exe consumer_shared consumer_static)
  run(${WORK_DIR}/cmake/${exe})
  message(STATUS "find_package, ${exe}: ${run_output}")
endforeach()

# 2. pkg-config, using only what the .pc file says.
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
run(${PKG_CONFIG} --cflags --libs cyberagent)
string(STRIP "${run_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run(${PKG_CONFIG} --variable=libdir cyberagent)
string(STRIP "${run_output}" pc_libdir)
separate_arguments(extra UNIX_COMMAND "${C_FLAGS}")
run(${C_COMPILER} ${extra} ${SOURCE_DIR}/tests/contract/consumer/main.c ${pc_flags}
  -Wl,-rpath,${pc_libdir} -o ${WORK_DIR}/consumer_pkgconfig)
run(${WORK_DIR}/consumer_pkgconfig)
message(STATUS "pkg-config: ${run_output}")
