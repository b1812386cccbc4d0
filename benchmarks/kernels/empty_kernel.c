/* The empty kernel of xpool-membench's launch measurement, as a cpu module:
 * all it costs is the launch. */
#include <xpool/cpu_kernel.h>

XP_CPU_KERNEL(empty) {
  (void)ctx;
  (void)args;
}
