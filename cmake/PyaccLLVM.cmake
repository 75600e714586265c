# Finds LLVM 19 and defines the imported target pyacc::llvm.
#
# By default it links the shared libLLVM.  With PYACC_LLVM_STATIC it links
# the static archives of only the components pyacc uses, so the extension
# carries what it needs and runs where no LLVM is installed (the GPU
# machine): see shared/notes/gpu-machine.md.
# LLVM's config file accepts only an exact major.minor, so ask for any LLVM
# in the LLVM 19 prefix and check the major version ourselves.
find_package(LLVM REQUIRED CONFIG
  HINTS /usr/lib/llvm-19/lib/cmake/llvm /usr/lib/llvm-19)
if(NOT LLVM_VERSION_MAJOR EQUAL 19)
  message(FATAL_ERROR "pyacc needs LLVM 19 (found ${LLVM_PACKAGE_VERSION}); install llvm-19-dev")
endif()
message(STATUS "pyacc: LLVM ${LLVM_PACKAGE_VERSION} from ${LLVM_DIR}")

add_library(pyacc_llvm INTERFACE)
add_library(pyacc::llvm ALIAS pyacc_llvm)
target_include_directories(pyacc_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
separate_arguments(_pyacc_llvm_defs NATIVE_COMMAND "${LLVM_DEFINITIONS}")
target_compile_definitions(pyacc_llvm INTERFACE ${_pyacc_llvm_defs})

set(PYACC_LLVM_COMPONENTS
  orcjit passes ipo
  x86codegen x86asmparser x86desc x86info
  nvptxcodegen nvptxdesc nvptxinfo
  irreader linker bitreader bitwriter)

if(PYACC_LLVM_STATIC)
  llvm_map_components_to_libnames(_pyacc_llvm_libs ${PYACC_LLVM_COMPONENTS})
  # Only what the components need from the system; LLVM's exported
  # dependency list also names z3 and libxml2, which no component we use
  # reaches and which the GPU machine lacks.
  find_package(ZLIB REQUIRED)
  find_library(PYACC_ZSTD_LIB NAMES zstd REQUIRED)
  target_link_libraries(pyacc_llvm INTERFACE
    -Wl,--start-group ${_pyacc_llvm_libs} -Wl,--end-group
    ZLIB::ZLIB ${PYACC_ZSTD_LIB} ${CMAKE_DL_LIBS} m pthread)
  # Keep LLVM's C++ symbols out of the extension's dynamic symbol table so
  # they cannot clash with another LLVM in the process (Numba's llvmlite).
  target_link_options(pyacc_llvm INTERFACE -Wl,--exclude-libs,ALL)
else()
  target_link_libraries(pyacc_llvm INTERFACE LLVM)
endif()
