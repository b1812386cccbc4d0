#include "mpi_baseline.h"

#include <mpi.h>

#include <cstdlib>

// Read by LeakSanitizer in a -fsanitize=address build: MPI_Finalize leaves
// Open MPI's components' allocations behind, some in plugins already
// unloaded (so no suppression can name them). The reductions' own memory is
// checked by xccl_reduce_test.
extern "C" __attribute__((visibility("default"))) const char *__lsan_default_options() {
  return "detect_leaks=0";
}

namespace xccl_reduce_bench {
namespace {

MPI_Datatype mpiType(xcclDataType_t type) {
  switch (type) {
    case xcclFloat32:
      return MPI_FLOAT;
    case xcclFloat64:
      return MPI_DOUBLE;
    case xcclInt32:
      return MPI_INT32_T;
    default:
      return MPI_DATATYPE_NULL;
  }
}

}  // namespace

void startMpi(int *argc, char ***argv) {
  // Open MPI refuses to start as root unless told it may (containers, CI).
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  MPI_Init(argc, argv);
}

void stopMpi() {
  MPI_Finalize();
}

std::string mpiLibraryVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<size_t>(length));
  const size_t end = version.find_first_of(",\n");  // the first clause is enough
  return end == std::string::npos ? version : version.substr(0, end);
}

bool mpiHasType(xcclDataType_t type) {
  return mpiType(type) != MPI_DATATYPE_NULL;
}

void mpiSum(const void *in, void *inout, size_t count, xcclDataType_t type) {
  MPI_Reduce_local(in, inout, static_cast<int>(count), mpiType(type), MPI_SUM);
}

}  // namespace xccl_reduce_bench
