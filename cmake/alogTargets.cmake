# Defines the imported targets of alog, for the build tree (CMakeLists.txt) and for an
# installed prefix (alogConfig.cmake): one place that knows what linking alog takes.
#
#   alog_define_targets(LIBDIR INCLUDEDIR VERSION [GLOBAL])    sets ALOG_SOVERSION
#
#   alog::alog          the shared library (libalog.so.VERSION, SONAME libalog.so.<compat>)
#   alog::alog_static   the static library libalog.a, with the system libraries it needs
#                       (the ones rustc lists for a Rust staticlib on Linux)
include_guard(GLOBAL)

function(alog_define_targets libdir includedir version)
  set(scope "")
  if(ARGN STREQUAL "GLOBAL")
    set(scope GLOBAL)
  endif()
  if(version MATCHES "^0\\.([0-9]+)\\.")
    set(compat "0.${CMAKE_MATCH_1}")
  else()
    string(REGEX MATCH "^[0-9]+" compat "${version}")
  endif()
  set(ALOG_SOVERSION "${compat}" PARENT_SCOPE)
  find_package(Threads REQUIRED)

  add_library(alog::alog SHARED IMPORTED ${scope})
  set_target_properties(alog::alog PROPERTIES
    IMPORTED_LOCATION "${libdir}/libalog.so.${version}"
    IMPORTED_SONAME "libalog.so.${compat}"
    INTERFACE_INCLUDE_DIRECTORIES "${includedir}")

  add_library(alog::alog_static STATIC IMPORTED ${scope})
  set_target_properties(alog::alog_static PROPERTIES
    IMPORTED_LOCATION "${libdir}/libalog.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${includedir}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;util;rt;m;${CMAKE_DL_LIBS}")
endfunction()
