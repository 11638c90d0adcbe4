# `cmake --install build --prefix P`: the headers, libember (static, or shared with
# -DBUILD_SHARED_LIBS=ON), the ember tool, a CMake package (find_package(Ember) -> Ember::ember)
# and ember.pc for pkg-config. examples/consumer is built against such an install by the tests.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/ember DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(TARGETS ember EXPORT EmberTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ember_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(EMBER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Ember)
install(EXPORT EmberTargets NAMESPACE Ember:: DESTINATION ${EMBER_CMAKE_DIR})
# The private dependencies must be found by a user of a static libember only to link it (the
# exported target names them as link-only); a shared libember carries them itself.
get_target_property(ember_type ember TYPE)
if(ember_type STREQUAL "STATIC_LIBRARY")
  set(EMBER_STATIC ON)
else()
  set(EMBER_STATIC OFF)
endif()
configure_package_config_file(cmake/EmberConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/EmberConfig.cmake
                              INSTALL_DESTINATION ${EMBER_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/EmberConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/EmberConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/EmberConfigVersion.cmake
        DESTINATION ${EMBER_CMAKE_DIR})

# pkg-config: what a Makefile needs to compile (-I, -fopenmp) and link (-lember, and for the
# static library its private dependencies as Libs.private).
if(EMBER_STATIC)
  get_filename_component(openblas_dir ${OPENBLAS_OPENMP} DIRECTORY)
  get_filename_component(hdf5_dir ${HDF5_C_LIBRARY_hdf5} DIRECTORY)
  set(EMBER_PC_LIBS_PRIVATE "-ldnnl -L${openblas_dir} -lopenblas -lz -ldeflate -L${hdf5_dir} -lhdf5")
else()
  set(EMBER_PC_LIBS_PRIVATE "")
endif()
configure_file(cmake/ember.pc.in ${CMAKE_CURRENT_BINARY_DIR}/ember.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
