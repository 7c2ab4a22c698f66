using Akka.Actor;
using Pipeline.Actors.Engine;

namespace Pipeline.Actors.Cluster;

/// <summary>
/// The messages that cross the network between front nodes and worker nodes. They hold plain values only (ids,
/// token ids, JSON text), so Akka.Remote's serializer carries them without knowing engine types.
/// </summary>
public interface IClusterMessage;

/// <summary>Front to a worker node's well-known actor (/user/pipeline-worker): which replicas do you serve?</summary>
public sealed record WorkerHello(IActorRef Front) : IClusterMessage;

/// <summary>A worker node's replicas (engine core + GPU worker each), as answer to <see cref="WorkerHello"/>.</summary>
public sealed record WorkerReplicas(string Node, ReplicaInfo[] Replicas, bool Draining) : IClusterMessage;

/// <param name="Key">Unique in the cluster: node address and replica index.</param>
/// <param name="Capacity">Requests the replica holds at once (max_num_seqs running plus its waiting queue).</param>
public sealed record ReplicaInfo(string Key, IActorRef Ref, int Capacity, string Device);

/// <summary>A worker node is leaving (SIGTERM): route nothing more to its replicas; their running requests finish.</summary>
public sealed record WorkerDraining(string Node) : IClusterMessage;

/// <summary>One engine request of a client request: child <see cref="Index"/> (0 when n = 1) and the tokens it has already streamed.</summary>
public sealed record ResumedChild(int Index, int[] OutputTokenIds);

/// <summary>
/// Front to a worker replica: run this request. <see cref="Attempt"/> counts the replicas it was sent to (a resumed
/// request has a higher one), so late outputs of an earlier attempt are told apart and dropped.
/// </summary>
public sealed record RemoteAdmit(string RequestId, int Attempt, int[] PromptTokenIds, string SamplingParamsJson, int[] EosTokenIds,
    int Priority, string? CacheSalt, double ArrivalTime, ResumedChild[] Children, IActorRef Front) : IClusterMessage;

/// <summary>The replica did not take the request (it is draining, or the request is invalid there); the front routes it again or fails it.</summary>
public sealed record RemoteRefused(string RequestId, int Attempt, string Reason, bool Retry) : IClusterMessage;

public sealed record RemoteLogprobs(int TokenId, float Logprob, int Rank, int[] TopIds, float[] TopLogprobs);

/// <summary>One step's new tokens for one child of a request (vLLM's EngineCoreOutput, by value).</summary>
public sealed record RemoteOutput(string RequestId, int Attempt, int Child, int[] NewTokenIds, RemoteLogprobs[]? NewLogprobs,
    RemoteLogprobs[]? NewPromptLogprobs, FinishReason? Finish, int? StopReason, int NumCachedTokens);

public sealed record RemoteOutputs(string ReplicaKey, RemoteOutput[] Outputs) : IClusterMessage;

/// <summary>A child ended without a final output (aborted or failed on the worker).</summary>
public sealed record RemoteFinished(string RequestId, int Attempt, int Child, FinishReason Reason, string? Error) : IClusterMessage;

/// <summary>Front to replica: the client went away (or the front moved the request elsewhere).</summary>
public sealed record RemoteAbort(string RequestId, int Attempt) : IClusterMessage;

/// <summary>Front to replica: stop strings ended these children (the front's detokenizer matched them).</summary>
public sealed record RemoteStop(string RequestId, int Attempt, int[] Children) : IClusterMessage;

/// <summary>A draining worker gives back a request it could not finish in time; the front resumes it elsewhere.</summary>
public sealed record HandBack(string RequestId, int Attempt) : IClusterMessage;

/// <summary>Ask a worker node (or one replica) for its engine counters.</summary>
public sealed record GetWorkerStats : IClusterMessage;

/// <summary>One replica's engine counters, by value.</summary>
public sealed record RemoteReplicaStats(string Key, int Running, int Waiting, int Pending, double KvCacheUsage, long Preemptions,
    long PrefixCacheQueries, long PrefixCacheHits, long Finished, long Steps) : IClusterMessage
{
    public static RemoteReplicaStats From(string key, ReplicaStatsView s) => new(key, s.Running, s.Waiting, s.Pending, s.KvCacheUsage,
        s.Preemptions, s.PrefixCacheQueries, s.PrefixCacheHits, s.Finished, s.Steps);
}

public sealed record RemoteWorkerStats(string Node, RemoteReplicaStats[] Replicas) : IClusterMessage;

/// <summary>The counters of <see cref="Stages.ReplicaStats"/> without engine types.</summary>
public sealed record ReplicaStatsView(int Running, int Waiting, int Pending, double KvCacheUsage, long Preemptions,
    long PrefixCacheQueries, long PrefixCacheHits, long Finished, long Steps)
{
    public static ReplicaStatsView From(Stages.ReplicaStats s) => new(s.Scheduler.NumRunningReqs, s.Scheduler.NumWaitingReqs, s.PendingAdmissions,
        s.Scheduler.KvCacheUsage, s.Scheduler.NumPreemptionsTotal, s.Scheduler.PrefixCacheQueries, s.Scheduler.PrefixCacheHits,
        s.Scheduler.NumFinishedTotal, s.Steps);
}
