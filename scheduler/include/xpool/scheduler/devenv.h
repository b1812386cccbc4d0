// Development environments: an administrator sets an idle timeout (first a warning, then a
// stop) and a limit on environments per user.
#pragma once

#include "xpool/scheduler/model.h"

namespace xpool::sched {

struct DevEnvPolicy {
  Time idle_warn = 3600;  // seconds without activity before the owner is warned
  Time idle_stop = 7200;  // seconds without activity before the environment is stopped
  int max_per_user = 2;   // waiting plus running environments per user (0: no limit)
};

// A period in which the user works in an environment, in seconds after the environment
// first started (the simulator's model of activity: record_activity all through it).
struct ActivePeriod {
  Time begin = 0;
  Time end = 0;
  bool operator==(const ActivePeriod &) const = default;
};

enum class DevEnvAction : uint8_t { kNone, kWarn, kStop };

DevEnvAction devenv_action(const DevEnvPolicy &policy, Time last_activity, bool warned, Time now);

}  // namespace xpool::sched
