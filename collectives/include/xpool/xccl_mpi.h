/*
 * xccl_mpi.h: a communicator from an MPI communicator.
 *
 * Header-only so that libxccl itself does not depend on MPI: include it in
 * a program that already includes <mpi.h> and links MPI. Collective over
 * `mpi_comm`: rank 0 makes the unique id, MPI_Bcast carries it to the
 * others, and every rank joins with its MPI rank.
 */
#ifndef XPOOL_XCCL_MPI_H
#define XPOOL_XCCL_MPI_H

#include <mpi.h>

#include "xpool/xccl.h"

static inline xcclResult_t xcclCommInitMpi(xcclComm_t *comm, MPI_Comm mpi_comm, int device) {
  int rank = 0, size = 0;
  if (MPI_Comm_rank(mpi_comm, &rank) != MPI_SUCCESS ||
      MPI_Comm_size(mpi_comm, &size) != MPI_SUCCESS) {
    return xcclInvalidArgument;
  }
  xcclUniqueId id;
  /* Every rank takes part in the broadcast even when rank 0's id failed: an
   * all-zero id then makes xcclCommInitRank fail on every rank alike. */
  xcclResult_t made = xcclSuccess;
  int i;
  for (i = 0; i < XCCL_UNIQUE_ID_BYTES; ++i) id.internal[i] = 0;
  if (rank == 0) made = xcclGetUniqueId(&id);
  if (MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, mpi_comm) != MPI_SUCCESS) {
    return xcclSystemError;
  }
  if (made != xcclSuccess) return made;
  return xcclCommInitRank(comm, size, id, rank, device);
}

#endif /* XPOOL_XCCL_MPI_H */
