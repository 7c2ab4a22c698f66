namespace Pipeline.Actors.Cluster;

/// <summary>Ask a front node's cluster router for <see cref="ClusterStatus"/>.</summary>
public sealed record GetClusterStatus;

public sealed record ClusterMemberStatus(string Address, string Status, string[] Roles, bool Reachable);

/// <summary>One replica as the front sees it (outstanding, capacity, routing counters) and, when it answered, its engine counters.</summary>
public sealed record ClusterReplicaStatus(string Key, string Node, string Device, int Capacity, int Outstanding, bool Draining,
    long Dispatched, long AffinityHits, RemoteReplicaStats? Engine);

/// <summary>The cluster as one front node sees it: members, worker replicas and their load, requests waiting for a replica.</summary>
public sealed record ClusterStatus(string Self, string[] Roles, string Policy, ClusterMemberStatus[] Members, ClusterReplicaStatus[] Replicas,
    int InFlight, int WaitingForReplica, long Routed, long AffinityHits, long Resumed, long FailedNoWorker);
