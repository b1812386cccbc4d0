#include "xpool/scheduler/devenv.h"

namespace xpool::sched {

DevEnvAction devenv_action(const DevEnvPolicy &policy, Time last_activity, bool warned, Time now) {
  const Time idle = now - last_activity;
  if (policy.idle_stop > 0 && idle >= policy.idle_stop) return DevEnvAction::kStop;
  if (policy.idle_warn > 0 && idle >= policy.idle_warn && !warned) return DevEnvAction::kWarn;
  return DevEnvAction::kNone;
}

}  // namespace xpool::sched
