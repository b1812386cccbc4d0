/* Plain C against the installed headers and library: init, one device
 * allocation, a round trip, shutdown. Prints "consumer ok" on success. */
#include <stdio.h>
#include <string.h>
#include <xpool/runtime.h>

int main(void) {
  if (xpInit() != XP_SUCCESS) {
    fprintf(stderr, "xpInit: %s\n", xpGetLastError());
    return 1;
  }
  int devices = 0;
  xpDeviceCount(&devices);
  if (devices < 1) {
    fprintf(stderr, "no devices: the installed plugins were not found\n");
    return 1;
  }
  void *memory = NULL;
  char out[64] = "installed xpool works", back[64] = {0};
  if (xpMalloc(0, sizeof out, &memory) != XP_SUCCESS ||
      xpMemcpy(memory, out, sizeof out) != XP_SUCCESS ||
      xpMemcpy(back, memory, sizeof back) != XP_SUCCESS || strcmp(out, back) != 0) {
    fprintf(stderr, "round trip failed: %s\n", xpGetLastError());
    return 1;
  }
  xpFree(memory);
  xpShutdown();
  printf("consumer ok (%d devices)\n", devices);
  return 0;
}
