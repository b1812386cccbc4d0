# Fails if an object compiled for a SIMD instruction set (reduce_avx*.o)
# defines any global or weak symbol other than its kernel table. The linker
# keeps one copy of each weak (inline, template) function for the whole
# program; if it kept the AVX-512 copy of one the portable code also calls,
# CPUs without AVX-512 would die with SIGILL.
# Usage: cmake -DNM=<nm> -DOBJECTS=<a;b;...> -P isa_symbols.cmake
set(checked 0)
foreach(object IN LISTS OBJECTS)
  if(NOT object MATCHES "reduce_avx[0-9]*\\.cpp\\.o$")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND "${NM}" --defined-only --extern-only "${object}"
                  OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${NM} failed on ${object}")
  endif()
  string(REGEX REPLACE "\n$" "" symbols "${symbols}")
  string(REPLACE "\n" ";" symbols "${symbols}")
  foreach(line IN LISTS symbols)
    if(NOT line MATCHES "_ZN5xpool4xccl6detail(12kAvx2Kernels|14kAvx512Kernels)E$")
      message(FATAL_ERROR "${object} exports more than its kernel table: ${line}")
    endif()
  endforeach()
endforeach()
message(STATUS "${checked} SIMD object(s) export only their kernel tables")
