/* Plain C against the installed xccl: a communicator of one rank (made
 * with xcclCommInitAll), one all-reduce in place, destroy. Prints
 * "xccl consumer ok" on success. */
#include <stdio.h>
#include <xpool/xccl.h>

int main(void) {
  xcclComm_t comm = NULL;
  if (xcclCommInitAll(&comm, 1, NULL) != xcclSuccess) {
    fprintf(stderr, "xcclCommInitAll: %s\n", xcclGetLastError(NULL));
    return 1;
  }
  float values[4] = {1, 2, 3, 4};
  if (xcclAllReduce(values, values, 4, xcclFloat32, xcclSum, comm, NULL) != xcclSuccess ||
      xcclCommDestroy(comm) != xcclSuccess) {
    fprintf(stderr, "xccl: %s\n", xcclGetLastError(NULL));
    return 1;
  }
  if (values[3] != 4.0f) {
    fprintf(stderr, "xccl: one rank's all-reduce changed the data (%g)\n", values[3]);
    return 1;
  }
  printf("xccl consumer ok\n");
  return 0;
}
