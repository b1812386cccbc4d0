// Ordering of waiting jobs: emergency jobs first, then fair share across groups (dominant
// resource fairness or weighted round-robin), then priority class, then submit time.
#pragma once

#include <vector>

#include "xpool/scheduler/model.h"
#include "xpool/scheduler/quota.h"

namespace xpool::sched {

enum class FairShareMode : uint8_t {
  kDominantResourceFairness,  // the group with the smallest weighted dominant share goes next
  kWeightedRoundRobin,        // groups take turns, `weight` starts per turn
  kNone,                      // one global queue in submit order (the FIFO baseline)
};

// Order of jobs inside one queue. `head` marks jobs requeued after a failure or preemption:
// they go to the head of their priority class.
struct QueueKey {
  uint8_t priority;  // PriorityClass, higher first
  uint8_t head;      // 1 first
  Time submit;
  JobId job;
  // Not part of the order: a copy of what a pass needs to see that a job cannot start
  // without reading its record (on a 100,000-job queue that cache miss is most of a pass).
  GroupId group = 0;
  UserId user = 0;
  int64_t milli = 0;          // devices of the whole gang
  int64_t cpu = 0;            // CPU cores of the whole gang
  int64_t memory_mb = 0;      // memory of the whole gang
  uint64_t allowed_mask = 0;  // allowed device models (0: more than 64 models, no shortcut)
  uint64_t shape = 0;         // hash of what decides whether the job can be placed
  Time expected = kNever;     // expected duration (kNever: none given)
  bool fractional = false;
  bool examined = false;  // its wait reason has been set once
  bool removed = false;   // left the queue (started, cancelled); dropped at the next prepare()
  bool operator<(const QueueKey &o) const {
    if (priority != o.priority) return priority > o.priority;
    if (head != o.head) return head > o.head;
    if (submit != o.submit) return submit < o.submit;
    return job < o.job;
  }
};

// A queue of waiting jobs in QueueKey order, stored contiguously: a pass walks it in order,
// and a walk over a vector is several times faster than over a tree of 100,000 nodes. New
// jobs wait in `pending` until the next prepare() merges them in; removed jobs are marked
// and dropped by prepare().
class JobQueue {
 public:
  void insert(const QueueKey &k) {
    pending_.push_back(k);
    ++size_;
  }
  bool erase(const QueueKey &k);
  void remove_at(size_t i) {  // entry i of entries(), during a walk
    entries_[i].removed = true;
    ++removed_;
    --size_;
  }
  void prepare();  // merge pending, drop removed: entries() is then the whole queue in order
  std::vector<QueueKey> &entries() { return entries_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  template <typename F>
  void for_each(F f) const {
    for (const QueueKey &k : entries_)
      if (!k.removed) f(k);
    for (const QueueKey &k : pending_) f(k);
  }

 private:
  std::vector<QueueKey> entries_;
  std::vector<QueueKey> pending_;
  size_t size_ = 0;
  size_t removed_ = 0;
};

// The fair-share key of each group: lower goes first.
class FairShare {
 public:
  FairShare(FairShareMode mode, const Cluster &cluster, std::vector<int64_t> capacity);
  FairShareMode mode() const { return mode_; }
  // Dominant share: the largest fraction of any resource (each device model, CPU, memory)
  // the group holds, divided by its weight.
  double dominant_share(const QuotaBook &quotas, GroupId g) const;
  double key(const QuotaBook &quotas, GroupId g) const;
  void on_start(GroupId g);  // a job of g started (round-robin turns)
  // Called at the start of a pass with the groups that have waiting jobs: round-robin turns
  // are rebased so that a group that was idle does not arrive with a huge credit.
  void rebase(const std::vector<GroupId> &backlogged);

 private:
  FairShareMode mode_;
  const Cluster *cluster_;
  std::vector<int64_t> capacity_;  // per quota resource
  std::vector<double> turns_;      // starts per group (round-robin)
};

// Jain's fairness index of the values: 1 when all equal, 1/n when one holds everything.
double jain_index(const std::vector<double> &values);

}  // namespace xpool::sched
