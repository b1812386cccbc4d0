# `cmake --install` gives a usable package: headers, the runtime and xccl libraries,
# plugins in lib/xpool/backends, a CMake package (find_package(xpool)) and a
# pkg-config file (pkg-config --cflags --libs xpool).
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/runtime/include/xpool"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/collectives/include/xpool"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS xpool_headers xpool_runtime xpool_xccl EXPORT xpoolTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
set_target_properties(xpool_headers PROPERTIES EXPORT_NAME headers)
install(EXPORT xpoolTargets NAMESPACE xpool::
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/xpool")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/xpoolConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/xpoolConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/xpool")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/xpoolConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/xpoolConfig.cmake"
  "${PROJECT_BINARY_DIR}/xpoolConfigVersion.cmake"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/xpool")

# Relocatable: the prefix is found from the .pc file's own folder.
file(RELATIVE_PATH XPOOL_PC_PREFIX_FROM_PCDIR "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" XPOOL_PC_PREFIX_FROM_PCDIR "${XPOOL_PC_PREFIX_FROM_PCDIR}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/xpool.pc.in" "${PROJECT_BINARY_DIR}/xpool.pc" @ONLY)
configure_file("${PROJECT_SOURCE_DIR}/cmake/xccl.pc.in" "${PROJECT_BINARY_DIR}/xccl.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/xpool.pc" "${PROJECT_BINARY_DIR}/xccl.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
