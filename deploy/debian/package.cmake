# Install layout and the Debian package (CPack DEB): docs/deploy.md, built by scripts/package.
#   component runtime: accel                       (the container image and the package)
#   component nvidia:  the nvidia engine plugin      (the nvidia image; not the package, which would then
#                      depend on libtorch: the packaged accel reports the plugin as missing)
#   component system:  settings (/etc/default/accel), systemd unit (/lib/systemd/system) and drop-ins,
#                      docs, and the model repository staged in .container/models (scripts/container
#                      stage-model): what the package adds
# The package is made from any build folder: it installs under /usr whatever CMAKE_INSTALL_PREFIX is.
include(GNUInstallDirs)
# `cpack` and `ninja install` install what is built without building everything first (the tests and
# benchmarks are not installed); scripts/package builds `accel` itself.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(ACCEL_PACKAGE_MODELS_DIR "${CMAKE_SOURCE_DIR}/.container/models" CACHE PATH
    "model repository installed into share/accel/models by the package (scripts/package stages it)")

install(TARGETS accel RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
if(TARGET accel_engine_nvidia_plugin)
  # Found through ACCEL_PLUGIN_DIR (nvidia_plugin_loader.h), which the nvidia image sets.
  install(TARGETS accel_engine_nvidia_plugin LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/accel
          COMPONENT nvidia)
endif()

set(accel_deb_dir ${CMAKE_CURRENT_LIST_DIR})
install(FILES ${accel_deb_dir}/accel.default DESTINATION /etc/default RENAME accel COMPONENT system)
# /lib, not /usr/lib: where Debian 12's systemd and lintian expect units from packages.
install(FILES ${accel_deb_dir}/accel.service DESTINATION /lib/systemd/system COMPONENT system)
install(FILES ${accel_deb_dir}/hailo.conf ${accel_deb_dir}/nvidia.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/accel/systemd COMPONENT system)
# OPTIONAL: checked when installing, not when configuring; scripts/package fails without the model.
install(DIRECTORY ${ACCEL_PACKAGE_MODELS_DIR}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/accel/models
        COMPONENT system OPTIONAL)

# Debian wants the changelog compressed with gzip -9n; made at build time so that configuring twice
# changes nothing (a no-change rebuild does nothing).
set(accel_changelog_gz ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian.gz)
find_program(ACCEL_GZIP gzip)
if(ACCEL_GZIP)
  add_custom_command(OUTPUT ${accel_changelog_gz}
                     COMMAND ${ACCEL_GZIP} -9nc ${accel_deb_dir}/changelog > ${accel_changelog_gz}
                     DEPENDS ${accel_deb_dir}/changelog VERBATIM)
  add_custom_target(accel_debian_changelog ALL DEPENDS ${accel_changelog_gz})
  install(FILES ${accel_changelog_gz} DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT system)
endif()
install(FILES ${accel_deb_dir}/copyright ${accel_deb_dir}/README.Debian DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_NAME accel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Whoever publishes the package sets the contact: cmake -DCPACK_PACKAGE_CONTACT="Name <address>".
if(NOT CPACK_PACKAGE_CONTACT)
  set(CPACK_PACKAGE_CONTACT "Accel maintainers <accel@example.org>")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "inference service for every accelerator of a machine")
# The summary is the first line of the Description field; this is the extended text below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Accel puts the CPU, NVIDIA GPUs and Hailo-8/8L NPUs behind one API: the seed
API, DeepStack, KServe v2 over HTTP and gRPC, and Frigate's zmq detector.
Clients such as Frigate and Home Assistant ask for a model and never care
which hardware answers. This package holds the server, the default object
detection model (YOLOX-Nano) and a sandboxed systemd unit.")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# One package of the runtime and system components (not the nvidia plugin).
set(CPACK_COMPONENTS_ALL runtime system)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
# The settings stay the administrator's across upgrades.
set(accel_conffiles ${CMAKE_CURRENT_BINARY_DIR}/deb-control/conffiles)
file(CONFIGURE OUTPUT ${accel_conffiles} CONTENT "/etc/default/accel\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${accel_conffiles})
include(CPack)
