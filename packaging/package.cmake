# The Debian package: `cmake --build BUILD --target package` (CPack's DEB
# generator) in a build directory configured with -DCMAKE_INSTALL_PREFIX=/usr
# writes BUILD/scalpels_VERSION_ARCH.deb holding what `cmake --install`
# installs.  Its Depends come from the programs themselves (dpkg-shlibdeps,
# from dpkg-dev; CPack finds the programs with `file`), never from a list kept
# here.  The maintainer scripts (packaging/deb) never start the agent and
# never touch the database in state_dir: see docs/operations.md.

set(SCA_PACKAGE_VERSION "" CACHE STRING
  "Version of the Debian package (empty: the project's)")
set(SCA_PACKAGE_MAINTAINER "Scalpels maintainers <scalpels@localhost>" CACHE STRING
  "The Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME scalpels)
if(SCA_PACKAGE_VERSION)
  set(CPACK_PACKAGE_VERSION "${SCA_PACKAGE_VERSION}")
else()
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
endif()
set(CPACK_PACKAGE_CONTACT "${SCA_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "per-node tracing for clusters (OpenStack oslo.messaging RPC)")
set(CPACK_PACKAGE_DESCRIPTION "Scalpels starts tracers on every node of a cluster with one command \
(CPU, memory, disks, network devices, RPC traffic, the RabbitMQ firehose, \
MySQL queries, SystemTap probes), stores their samples in a SQLite database \
on each node, and reports them as tables, JSON, CSV or HTML charts.  The \
agent speaks the oslo.messaging RPC dialect over RabbitMQ, or a local unix \
socket on a single node.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Programs the shipped tracers run, when one is used: stap (oslolock,
# modelsave, sqlaexec, rpccount), mysql (mysql) and rabbitmqctl (rabbit).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemtap, default-mysql-client, rabbitmq-server")
set(CPACK_STRIP_FILES ON)
# Install with DESTDIR into CPack's staging tree, so that the configuration's
# absolute destination (/etc) lands there and not on the building machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")

configure_file("${CMAKE_CURRENT_LIST_DIR}/deb/conffiles.in" "${CMAKE_BINARY_DIR}/deb/conffiles" @ONLY)
foreach(script postinst prerm postrm)
  file(COPY "${CMAKE_CURRENT_LIST_DIR}/deb/${script}" DESTINATION "${CMAKE_BINARY_DIR}/deb"
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_BINARY_DIR}/deb/conffiles;\
${CMAKE_BINARY_DIR}/deb/postinst;${CMAKE_BINARY_DIR}/deb/prerm;${CMAKE_BINARY_DIR}/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# A package installs under /usr: a build for another prefix says so rather
# than packaging /usr/local.
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_BINARY_DIR}/deb/check-prefix.cmake")
file(WRITE "${CMAKE_BINARY_DIR}/deb/check-prefix.cmake"
  "if(NOT \"${CMAKE_INSTALL_PREFIX}\" STREQUAL \"/usr\")
  message(FATAL_ERROR \"the Debian package installs to /usr, and this build was configured for \"
    \"${CMAKE_INSTALL_PREFIX}: configure a build directory of its own with \"
    \"-DCMAKE_INSTALL_PREFIX=/usr (scripts/package.sh does)\")
endif()
")

include(CPack)
