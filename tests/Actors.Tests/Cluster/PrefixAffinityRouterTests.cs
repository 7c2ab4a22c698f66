using Akka.Actor;
using Pipeline.Actors.Cluster;

namespace Pipeline.Actors.Tests.Cluster;

/// <summary>The front's routing decisions, without a cluster: affinity to the replica that got a prefix, the balance threshold, capacity.</summary>
public class PrefixAffinityRouterTests
{
    static ReplicaTable Table(int replicas, int capacity)
    {
        var t = new ReplicaTable();
        t.Upsert("node", Enumerable.Range(0, replicas).Select(i => new ReplicaInfo($"r{i}", ActorRefs.Nobody, capacity, "cpu")), draining: false);
        return t;
    }

    static int[] Prompt(int group, int suffix) => [.. Enumerable.Range(0, 64).Select(i => group * 1000 + i), suffix];

    [Fact]
    public void SharedPrefixesFollowTheirFirstReplicaWhileLeastLoadSpreadsThem()
    {
        var table = Table(3, 100);
        var affinity = new PrefixAffinityRouter(ClusterRoutingPolicy.PrefixAffinity);
        var first = affinity.Pick(Prompt(1, 0), null, 1, table)!;
        // Balanced load: the next requests of the group go where the prefix went, whatever the tie order says.
        for (int k = 1; k < 4; k++) Assert.Same(first, affinity.Pick(Prompt(1, k), null, 1, table));
        Assert.Equal(3, affinity.AffinityHits);
        // A salt makes another prefix.
        affinity.Pick(Prompt(1, 9), "tenant-b", 1, table);
        Assert.Equal(3, affinity.AffinityHits);

        var leastLoad = new PrefixAffinityRouter(ClusterRoutingPolicy.LeastLoad);
        var picks = Enumerable.Range(0, 3).Select(k => leastLoad.Pick(Prompt(2, k), null, 1, table)!.Key).ToList();
        Assert.Equal(3, picks.Distinct().Count());
        Assert.Equal(0, leastLoad.AffinityHits);
    }

    [Fact]
    public void AnOverloadedAffinityTargetAndAFullReplicaAreAvoided()
    {
        var table = Table(2, 10);
        var router = new PrefixAffinityRouter(ClusterRoutingPolicy.PrefixAffinity, balanceThreshold: 2);
        var owner = router.Pick(Prompt(1, 0), null, 1, table)!;
        owner.Outstanding = 3;   // 3 more than the other replica: beyond the threshold
        Assert.NotSame(owner, router.Pick(Prompt(1, 1), null, 1, table));
        owner.Outstanding = 2;   // within it again
        var back = router.Pick(Prompt(1, 2), null, 1, table);
        Assert.NotNull(back);

        foreach (var e in table.All) e.Outstanding = e.Capacity;
        Assert.Null(router.Pick(Prompt(3, 0), null, 1, table));   // nobody has room: the request waits at the front
        table.All.First().Outstanding = 9;
        Assert.Equal(table.All.First().Key, router.Pick(Prompt(3, 0), null, 1, table)!.Key);
        Assert.Null(router.Pick(Prompt(3, 0), null, 2, table));   // n = 2 needs two free places
    }

    [Fact]
    public void ASpilledPrefixGainsAnOwner_AndKeepsItsFirst()
    {
        var table = Table(3, 100);
        var router = new PrefixAffinityRouter(ClusterRoutingPolicy.PrefixAffinity, balanceThreshold: 2);
        var first = router.Pick(Prompt(1, 0), null, 1, table)!;
        first.Outstanding = 3;                                   // overloaded: the next one spills
        var second = router.Pick(Prompt(1, 1), null, 1, table)!;
        Assert.NotSame(first, second);
        second.Outstanding = 2;
        first.Outstanding = 2;
        // Both now cache the prefix; the third replica is idle but has never seen it: within the threshold, an owner wins.
        var third = router.Pick(Prompt(1, 2), null, 1, table)!;
        Assert.True(third == first || third == second, "an owner of the prefix is chosen while within the balance threshold");
        // The first owner was not forgotten: once it is the least loaded owner, it gets the prefix again.
        first.Outstanding = 0;
        Assert.Same(first, router.Pick(Prompt(1, 3), null, 1, table));
        // A replica that leaves stops owning anything.
        router.Forget([first.Key, second.Key]);
        long hits = router.AffinityHits;
        router.Pick(Prompt(1, 4), null, 1, table);
        Assert.Equal(hits, router.AffinityHits);
    }
}
