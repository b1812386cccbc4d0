// Gang placement: all or nothing; fewest nodes, then one topology group, then the dataset;
// fractional workers packed onto partly used cards first.
#include <gtest/gtest.h>

#include <set>

#include "scenario.h"

namespace xpool::sched {
namespace {

using testing::ClusterBuilder;
using testing::job;

std::set<NodeId> nodes_of(const Placement &p) {
  std::set<NodeId> s;
  for (const auto &w : p.workers) s.insert(w.node);
  return s;
}

TEST(Placement, GangIsAllOrNothing) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("n0", m, 4);
  b.node("n1", m, 4);
  ClusterState st(b.cluster);
  // 3 workers x 3 devices: each node holds one worker, the third has nowhere to go.
  JobSpec j = job(0, 0, 3, 3);
  EXPECT_FALSE(place_gang(st, j, m, {}).has_value());
  EXPECT_EQ(st.free_whole(m), 8);  // nothing was left behind
  EXPECT_TRUE(st.check_indexes().empty());
  j.workers = 2;
  auto p = place_gang(st, j, m, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(nodes_of(*p).size(), 2u);
  EXPECT_EQ(st.free_whole(m), 2);
}

TEST(Placement, FewestNodesFirst) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("four-a", m, 4);
  b.node("eight", m, 8);
  b.node("four-b", m, 4);
  ClusterState st(b.cluster);
  auto p = place_gang(st, job(0, 0, 2, 4), m, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(nodes_of(*p), std::set<NodeId>{1});  // one 8-device node, not two 4-device nodes
}

TEST(Placement, TightestSingleNodeKeepsBigNodesForBigGangs) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("eight", m, 8);
  b.node("four", m, 4);
  ClusterState st(b.cluster);
  auto p = place_gang(st, job(0, 0, 1, 4), m, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(nodes_of(*p), std::set<NodeId>{1});
}

TEST(Placement, OneTopologyGroupInsideANode) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("n0", m, 8, 1, /*group_size=*/4);  // devices 0-3 in group 0, 4-7 in group 1
  ClusterState st(b.cluster);
  // Two single-device workers go to the tightest group: group 0 (tie, lowest first).
  auto p1 = place_gang(st, job(0, 0, 1, 1), m, {});
  auto p2 = place_gang(st, job(0, 0, 1, 1), m, {});
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->workers[0].devices[0].first, 0);
  EXPECT_EQ(p2->workers[0].devices[0].first, 1);
  // A 4-device worker then gets all of group 1 rather than straddling the islands.
  auto p4 = place_gang(st, job(0, 0, 1, 4), m, {});
  ASSERT_TRUE(p4.has_value());
  for (auto [d, milli] : p4->workers[0].devices) EXPECT_EQ(st.device(d).topology_group, 1);
}

TEST(Placement, PrefersNodeWithOneTopologyGroup) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("split", m, 4, 1, /*group_size=*/2);
  b.node("whole", m, 4, 1, /*group_size=*/4);
  ClusterState st(b.cluster);
  auto p = place_gang(st, job(0, 0, 1, 4), m, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(nodes_of(*p), std::set<NodeId>{1});
  JobSpec strict = job(0, 0, 1, 4);
  strict.affinity = Affinity::kSameTopologyGroup;
  EXPECT_FALSE(place_gang(st, strict, m, {}).has_value());  // only the split node is left
}

TEST(Placement, PrefersNodeCachingTheDataset) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("plain", m, 8);
  b.node("cached", m, 8, 1, 8, {"imagenet"});
  ClusterState st(b.cluster);
  JobSpec j = job(0, 0, 1, 2);
  j.dataset = "imagenet";
  auto p = place_gang(st, j, m, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(nodes_of(*p), std::set<NodeId>{1});
}

TEST(Placement, SpreadPutsEachWorkerOnItsOwnNode) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("n0", m, 8);
  b.node("n1", m, 8);
  ClusterState st(b.cluster);
  JobSpec j = job(0, 0, 2, 1);
  j.affinity = Affinity::kSpread;
  auto p = place_gang(st, j, m, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(nodes_of(*p).size(), 2u);
}

TEST(Placement, SameNodeAffinityRefusesToSplit) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("n0", m, 4);
  b.node("n1", m, 4);
  ClusterState st(b.cluster);
  JobSpec j = job(0, 0, 2, 3);
  j.affinity = Affinity::kSameNode;
  EXPECT_FALSE(place_gang(st, j, m, {}).has_value());
}

JobSpec fraction(int denominator, int64_t memory_cap_mb = 0) {
  JobSpec j = job(0, 0, 1, 1);
  j.fraction_denominator = denominator;
  j.memory_cap_mb = memory_cap_mb;
  return j;
}

TEST(Placement, FractionsPackOntoPartlyUsedCards) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("n0", m, 2, /*share_count=*/4);
  ClusterState st(b.cluster);
  auto q1 = place_gang(st, fraction(4), m, {});  // breaks card 0: 750 left
  auto h = place_gang(st, fraction(2), m, {});   // packs onto card 0: 250 left
  auto q2 = place_gang(st, fraction(4), m, {});  // fills card 0
  auto h2 = place_gang(st, fraction(2), m, {});  // only now card 1 is broken into
  ASSERT_TRUE(q1 && h && q2 && h2);
  EXPECT_EQ(q1->workers[0].devices[0].first, 0);
  EXPECT_EQ(h->workers[0].devices[0].first, 0);
  EXPECT_EQ(q2->workers[0].devices[0].first, 0);
  EXPECT_EQ(h2->workers[0].devices[0].first, 1);
  EXPECT_EQ(st.device(0).free_milli, 0);
  EXPECT_EQ(st.device(1).free_milli, 500);
  EXPECT_TRUE(st.check_indexes().empty());
}

TEST(Placement, BestFitAgainstFirstFit) {
  // Card 0 has 1/2 free, card 1 has 1/4 free. A quarter goes to card 1 under best fit (the
  // tightest card) and to card 0 under first fit, which leaves no room for a later half.
  for (FractionalFit fit : {FractionalFit::kBestFit, FractionalFit::kFirstFit}) {
    ClusterBuilder b;
    ModelId m = b.model("A100");
    b.node("n0", m, 2, 4);
    ClusterState st(b.cluster);
    st.take_device(0, 500, 0);
    st.take_device(1, 750, 0);
    PlacementOptions o;
    o.fractional = fit;
    auto q = place_gang(st, fraction(4), m, o);
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(q->workers[0].devices[0].first, fit == FractionalFit::kBestFit ? 1 : 0);
    EXPECT_EQ(place_gang(st, fraction(2), m, o).has_value(), fit == FractionalFit::kBestFit);
  }
}

TEST(Placement, FractionMemoryCapLimitsSharing) {
  ClusterBuilder b;
  ModelId m = b.model("T4", "nvidia", 16000);
  b.node("n0", m, 2, 4);
  ClusterState st(b.cluster);
  auto a = place_gang(st, fraction(4, 10000), m, {});
  auto c = place_gang(st, fraction(4, 10000), m, {});
  ASSERT_TRUE(a && c);
  // 10 GB + 10 GB exceeds a 16 GB card: the second quarter goes to the other card.
  EXPECT_NE(a->workers[0].devices[0].first, c->workers[0].devices[0].first);
}

TEST(Placement, NonShareableCardsTakeNoFractions) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("n0", m, 2, /*share_count=*/1);
  ClusterState st(b.cluster);
  EXPECT_FALSE(place_gang(st, fraction(4), m, {}).has_value());
}

TEST(Placement, SchedulerUsesPlacementAndHostLimits) {
  ClusterBuilder b;
  ModelId m = b.model("A100");
  b.node("small-cpu", m, 8, 1, 8, {}, /*cpu=*/8);
  b.node("big-cpu", m, 8, 1, 8, {}, /*cpu=*/64);
  GroupId g = b.group("g");
  UserId u = b.user("u", g);
  Scheduler s(b.cluster, default_throughput(b.cluster), policy_preset("xpool"));
  JobSpec j = job(u, g, 1, 2);
  j.cpu_per_worker = 32;
  JobId id = s.submit(j, 0).job;
  s.schedule(0);
  ASSERT_EQ(s.job(id).state, JobState::kRunning);
  EXPECT_EQ(s.job(id).placement.workers[0].node, 1);
}

}  // namespace
}  // namespace xpool::sched
