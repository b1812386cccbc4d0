#include "xpool/scheduler/trace_gen.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace xpool::sched {
namespace {

// A development environment's session: its length and the periods its user is active in.
void add_session(const TraceShape &shape, std::mt19937_64 &rng, TraceJob &j) {
  std::uniform_real_distribution<double> u01(0, 1);
  std::lognormal_distribution<double> session(std::log(shape.devenv_session_median), 0.8);
  std::lognormal_distribution<double> active(std::log(shape.devenv_active_median), 0.8);
  std::exponential_distribution<double> short_break(1 / shape.devenv_break_mean);
  std::uniform_real_distribution<double> long_break(2 * 3600, 16 * 3600);
  j.duration = std::round(std::clamp(session(rng), 1800.0, shape.max_duration));
  double at = 0;
  while (at < j.duration) {
    const double end = std::min(std::round(at + std::max(60.0, active(rng))), j.duration);
    if (end > at) j.activity.push_back(ActivePeriod{at, end});
    at = std::round(
        end + (u01(rng) < shape.devenv_long_break_share ? long_break(rng) : short_break(rng)));
  }
}

}  // namespace

std::vector<TraceJob> generate_trace(const TraceShape &shape) {
  std::mt19937_64 rng(shape.seed);
  std::uniform_real_distribution<double> u01(0, 1);
  std::lognormal_distribution<double> duration(std::log(shape.median_duration),
                                               shape.duration_sigma);
  const double kPi = 3.14159265358979323846;
  const double base = shape.jobs_per_hour / 3600.0;
  const double peak = base * (1 + shape.diurnal_amplitude);
  std::exponential_distribution<double> gap(peak);
  const char *types[] = {"cnn", "transformer", "recommendation", "rl", "other"};
  const double type_weights[] = {0.3, 0.3, 0.15, 0.1, 0.15};
  std::discrete_distribution<int> type_pick(std::begin(type_weights), std::end(type_weights));
  // Group demand is skewed (Zipf-like): group0 submits the most.
  std::vector<double> group_weights;
  for (int g = 0; g < std::max(1, shape.groups); ++g) group_weights.push_back(1.0 / (g + 1));
  std::discrete_distribution<int> group_pick(group_weights.begin(), group_weights.end());
  std::vector<TraceJob> out;
  out.reserve(size_t(shape.jobs));
  double t = 0;
  for (int64_t i = 0; i < shape.jobs; ++i) {
    // Diurnal arrivals by thinning a Poisson process at the peak rate; the peak is at 15:00.
    for (;;) {
      t += gap(rng);
      const double rate =
          base * (1 + shape.diurnal_amplitude * std::sin(2 * kPi * (t / 86400.0 - 0.375)));
      if (u01(rng) * peak <= rate) break;
    }
    TraceJob j;
    j.line = int(i + 2);
    j.name = "job" + std::to_string(i);
    j.submit = std::round(t * 1000) / 1000;
    j.duration = std::round(std::clamp(duration(rng), 60.0, shape.max_duration));
    j.group = "group" + std::to_string(group_pick(rng));
    j.user = j.group + "-user" + std::to_string(int(u01(rng) * shape.users_per_group));
    const double size = u01(rng);
    if (size < shape.fractional_share) {
      j.devices_per_worker = 1;
      j.fraction_denominator = u01(rng) < 0.5 ? 4 : 2;
      j.memory_cap_gb = 8;
    } else if (size < shape.fractional_share + shape.gang_share) {
      const int total = 8 << int(u01(rng) * 4);  // 8, 16, 32, 64
      j.devices_per_worker = 8;
      j.workers = total / 8;
    } else {
      const double r = u01(rng);
      j.devices_per_worker = r < 0.75 ? 1 : r < 0.88 ? 2 : r < 0.96 ? 4 : 8;
    }
    j.job_type = types[type_pick(rng)];
    if (!shape.models.empty() && u01(rng) >= shape.any_share)
      j.constraint =
          shape.models[size_t(u01(rng) * double(shape.models.size())) % shape.models.size()];
    else
      j.constraint = "any";
    const double p = u01(rng);
    j.priority = p < shape.emergency_share ? PriorityClass::kEmergency
                 : p < 0.2                 ? PriorityClass::kLow
                 : p < 0.85                ? PriorityClass::kNormal
                                           : PriorityClass::kHigh;
    // Emergency jobs come from each group's on-call user (who must hold the right).
    if (j.priority == PriorityClass::kEmergency) j.user = j.group + "-oncall";
    if (u01(rng) < shape.devenv_share && j.workers == 1) {
      j.kind = JobKind::kDevEnvironment;
      add_session(shape, rng, j);
    }
    j.cpu_per_worker = 4 * std::max(1, j.devices_per_worker);
    j.memory_gb_per_worker = 32.0 * std::max(1, j.devices_per_worker);
    j.preemptible = j.priority != PriorityClass::kEmergency && j.priority != PriorityClass::kHigh;
    j.checkpoint_interval = u01(rng) < shape.checkpoint_share ? 900 : 0;
    // Users overestimate run times (by up to 2x) when they give them at all.
    if (u01(rng) < 0.8) j.expected_duration = std::round(j.duration * (1 + u01(rng)));
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace xpool::sched
