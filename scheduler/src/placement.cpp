#include "xpool/scheduler/placement.h"

#include <algorithm>

namespace xpool::sched {
namespace {

bool host_fits(const ClusterState::Node &node, const JobSpec &job, int workers) {
  return node.healthy && node.cpu_free >= int64_t(job.cpu_per_worker) * workers &&
         node.memory_free_mb >= job.memory_mb_per_worker * workers;
}

// Largest count of free whole devices of model m inside one topology group of the node.
int best_group_free(const ClusterState &state, NodeId n, ModelId m) {
  const auto &node = state.node(n);
  int groups[16] = {0};
  int best = 0;
  for (int i = 0; i < node.device_count; ++i) {
    const auto &d = state.device(node.first_device + i);
    if (d.model != m || !d.healthy || d.free_milli != kMilliPerDevice) continue;
    int g = d.topology_group & 15;
    best = std::max(best, ++groups[g]);
  }
  return best;
}

// Takes `count` whole devices of model m on node n, from the topology group that fits them
// most tightly (keeps larger islands whole for larger jobs).
WorkerSlot take_whole(ClusterState &state, NodeId n, ModelId m, int count, const JobSpec &job) {
  const auto &node = state.node(n);
  int groups[16] = {0};
  for (int i = 0; i < node.device_count; ++i) {
    const auto &d = state.device(node.first_device + i);
    if (d.model == m && d.healthy && d.free_milli == kMilliPerDevice)
      groups[d.topology_group & 15]++;
  }
  int chosen = -1;
  for (int g = 0; g < 16; ++g)
    if (groups[g] >= count && (chosen < 0 || groups[g] < groups[chosen])) chosen = g;
  WorkerSlot w;
  w.node = n;
  state.take_host(n, job.cpu_per_worker, job.memory_mb_per_worker);
  // First from the chosen group, then (no single group fits) from the fullest groups first.
  for (int pass = 0; pass < 2 && int(w.devices.size()) < count; ++pass) {
    for (int i = 0; i < node.device_count && int(w.devices.size()) < count; ++i) {
      DeviceId id = node.first_device + i;
      const auto &d = state.device(id);
      if (d.model != m || !d.healthy || d.free_milli != kMilliPerDevice) continue;
      if (pass == 0 && chosen >= 0 && (d.topology_group & 15) != chosen) continue;
      state.take_device(id, kMilliPerDevice, 0);
      w.devices.push_back({id, kMilliPerDevice});
    }
  }
  return w;
}

void rollback(ClusterState &state, Placement &p) {
  state.release(p);
  p.workers.clear();
}

std::optional<NodeId> best_single_node(const ClusterState &state, const JobSpec &job, ModelId m,
                                       int workers, const PlacementOptions &opt) {
  const int need = workers * job.devices_per_worker;
  const int maxk = state.max_per_node(m);
  const bool want_dataset = !job.dataset.empty();
  const bool must_topology = job.affinity == Affinity::kSameTopologyGroup;
  std::optional<NodeId> best;
  int best_score = -1;
  for (int k = std::max(need, 1); k <= maxk; ++k) {
    const auto &bucket = state.bucket(m, k);
    int scanned = 0;
    for (NodeId n : bucket) {
      if (scanned++ >= opt.scan_limit) break;
      if (!host_fits(state.node(n), job, workers)) continue;
      const bool topo = best_group_free(state, n, m) >= need;
      if (must_topology && !topo) continue;
      const bool ds = want_dataset && state.node_has_dataset(n, job.dataset);
      const int score = (topo ? 2 : 0) + (ds ? 1 : 0);
      if (score > best_score) {
        best_score = score;
        best = n;
      }
      if (score == 2 + (want_dataset ? 1 : 0)) return best;  // nothing can beat it
    }
    // A smaller bucket (tighter fit) with the topology preference met wins over a looser one.
    if (best && best_score >= 2 && !want_dataset) return best;
  }
  return best;
}

std::optional<Placement> place_whole(ClusterState &state, const JobSpec &job, ModelId m,
                                     const PlacementOptions &opt) {
  Placement p;
  p.model = m;
  p.cpu_per_worker = job.cpu_per_worker;
  p.memory_mb_per_worker = job.memory_mb_per_worker;
  const int per = job.devices_per_worker;
  const int maxk = state.max_per_node(m);
  if (per > maxk) return std::nullopt;
  // Fewest nodes: one node for the whole gang when one can hold it.
  if (job.affinity != Affinity::kSpread && job.workers * per <= maxk) {
    if (auto n = best_single_node(state, job, m, job.workers, opt)) {
      for (int w = 0; w < job.workers; ++w) p.workers.push_back(take_whole(state, *n, m, per, job));
      return p;
    }
  }
  if (job.affinity == Affinity::kSameNode || job.affinity == Affinity::kSameTopologyGroup)
    return std::nullopt;
  // Several nodes: the emptiest first, so the gang spans as few nodes as possible.
  struct Pick {
    NodeId node;
    int workers;
  };
  std::vector<Pick> picks;
  int remaining = job.workers;
  for (int k = maxk; k >= per && remaining > 0; --k) {
    for (NodeId n : state.bucket(m, k)) {
      const auto &node = state.node(n);
      if (!node.healthy) continue;
      int w = k / per;
      if (job.cpu_per_worker > 0) w = std::min<int64_t>(w, node.cpu_free / job.cpu_per_worker);
      if (job.memory_mb_per_worker > 0)
        w = int(std::min<int64_t>(w, node.memory_free_mb / job.memory_mb_per_worker));
      if (job.affinity == Affinity::kSpread) w = std::min(w, 1);
      w = std::min(w, remaining);
      if (w <= 0) continue;
      picks.push_back({n, w});
      remaining -= w;
      if (remaining == 0) break;
    }
  }
  if (remaining > 0) return std::nullopt;
  for (const Pick &pk : picks)
    for (int w = 0; w < pk.workers; ++w)
      p.workers.push_back(take_whole(state, pk.node, m, per, job));
  return p;
}

bool card_fits(const ClusterState &state, DeviceId d, int need, const JobSpec &job) {
  const auto &dev = state.device(d);
  return dev.healthy && dev.free_milli >= need && dev.tenants < dev.share_count &&
         dev.memory_mb - dev.memory_used_mb >= job.memory_cap_mb &&
         host_fits(state.node(dev.node), job, 1);
}

std::optional<DeviceId> find_card(const ClusterState &state, const JobSpec &job, ModelId m,
                                  const PlacementOptions &opt) {
  const int need = job.milli_per_worker();
  if (opt.fractional == FractionalFit::kFirstFit) {
    for (DeviceId d : state.shareable_with_room(m))
      if (card_fits(state, d, need, job)) return d;
    return std::nullopt;
  }
  // Best fit: the partly used card with the least room that still fits.
  const auto &partial = state.partial_cards(m);
  int scanned = 0;
  for (auto it = partial.lower_bound({need, -1}); it != partial.end(); ++it) {
    if (scanned++ >= opt.scan_limit * 4) break;
    if (card_fits(state, it->second, need, job)) return it->second;
  }
  // Break a whole card, on the node with the fewest free cards (keep empty nodes for gangs).
  for (int k = 1; k <= state.max_per_node(m); ++k) {
    int nodes_scanned = 0;
    for (NodeId n : state.bucket(m, k)) {
      if (nodes_scanned++ >= opt.scan_limit) break;
      const auto &node = state.node(n);
      if (!host_fits(node, job, 1)) continue;
      for (int i = 0; i < node.device_count; ++i) {
        DeviceId d = node.first_device + i;
        const auto &dev = state.device(d);
        if (dev.model == m && dev.share_count > 1 && dev.free_milli == kMilliPerDevice &&
            card_fits(state, d, need, job))
          return d;
      }
    }
  }
  return std::nullopt;
}

std::optional<Placement> place_fractional(ClusterState &state, const JobSpec &job, ModelId m,
                                          const PlacementOptions &opt) {
  Placement p;
  p.model = m;
  p.cpu_per_worker = job.cpu_per_worker;
  p.memory_mb_per_worker = job.memory_mb_per_worker;
  p.memory_cap_mb = job.memory_cap_mb;
  for (int w = 0; w < job.workers; ++w) {
    auto d = find_card(state, job, m, opt);
    if (!d) {
      rollback(state, p);
      return std::nullopt;
    }
    WorkerSlot slot;
    slot.node = state.device(*d).node;
    slot.devices.push_back({*d, job.milli_per_worker()});
    state.take_host(slot.node, job.cpu_per_worker, job.memory_mb_per_worker);
    state.take_device(*d, job.milli_per_worker(), job.memory_cap_mb);
    p.workers.push_back(std::move(slot));
  }
  return p;
}

std::optional<Placement> place_cpu_only(ClusterState &state, const JobSpec &job) {
  Placement p;
  p.cpu_per_worker = job.cpu_per_worker;
  p.memory_mb_per_worker = job.memory_mb_per_worker;
  for (int w = 0; w < job.workers; ++w) {
    bool placed = false;
    for (size_t n = 0; n < state.nodes().size() && !placed; ++n) {
      if (!host_fits(state.node(NodeId(n)), job, 1)) continue;
      state.take_host(NodeId(n), job.cpu_per_worker, job.memory_mb_per_worker);
      p.workers.push_back(WorkerSlot{NodeId(n), {}});
      placed = true;
    }
    if (!placed) {
      rollback(state, p);
      return std::nullopt;
    }
  }
  return p;
}

}  // namespace

bool may_fit(const ClusterState &state, const JobSpec &job, ModelId model) {
  if (job.total_milli() == 0) return true;
  if (job.fractional()) return state.free_milli(model) >= job.total_milli();
  return int64_t(state.free_whole(model)) * kMilliPerDevice >= job.total_milli();
}

std::optional<Placement> place_gang(ClusterState &state, const JobSpec &job, ModelId model,
                                    const PlacementOptions &options) {
  if (job.total_milli() == 0) return place_cpu_only(state, job);
  if (!may_fit(state, job, model)) return std::nullopt;
  if (job.fractional()) return place_fractional(state, job, model, options);
  return place_whole(state, job, model, options);
}

}  // namespace xpool::sched
