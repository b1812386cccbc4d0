// Open MPI's local reduction, the baseline for the types MPI has.
#pragma once

#include <cstddef>
#include <string>

#include <xpool/xccl.h>

namespace xccl_reduce_bench {

// MPI_Init as a singleton (no mpirun needed); allows running as root.
void startMpi(int *argc, char ***argv);
void stopMpi();
std::string mpiLibraryVersion();

// Whether MPI has a datatype for `type` (MPI 4.1: no float16 or bfloat16).
bool mpiHasType(xcclDataType_t type);
// inout[i] = in[i] + inout[i], through MPI_Reduce_local with MPI_SUM.
void mpiSum(const void *in, void *inout, size_t count, xcclDataType_t type);

}  // namespace xccl_reduce_bench
