# Run by CTest (tests/CMakeLists.txt) as `cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=...
# [-DSANITIZE_FLAGS=...] -P consumer_test.cmake`: installs the build into a fresh prefix, then
# builds examples/consumer against it with find_package(Ember) and runs it, then builds the same
# program from pkg-config's flags alone. A broken install (a missing header, target, dependency
# or .pc line) fails here.
cmake_minimum_required(VERSION 3.25)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/ember/ember.hpp lib/cmake/Ember/EmberConfig.cmake lib/cmake/Ember/EmberConfigVersion.cmake
          lib/pkgconfig/ember.pc bin/ember)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the install has no ${f}")
  endif()
endforeach()

# 1. CMake: find_package(Ember) + Ember::ember.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/build -G Ninja
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix}
    "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/app)

# 2. pkg-config: the flags a Makefile would use.
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
execute_process(COMMAND pkg-config --cflags --libs --static ember OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config cannot read ember.pc")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(san UNIX_COMMAND "${SANITIZE_FLAGS}")
run(c++ ${san} ${SOURCE_DIR}/examples/consumer/main.cpp ${flags} -o ${WORK_DIR}/app_pkgconfig)
run(${WORK_DIR}/app_pkgconfig)

# 3. The installed tool runs.
run(${prefix}/bin/ember summary mlp)
