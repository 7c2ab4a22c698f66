using Pipeline.Models.Pooling;

namespace Pipeline.Actors.Stages;

/// <summary>A caller's pooling request for the pooling engine core; <see cref="Done"/> gets its rows or its error.</summary>
public sealed record EncodePooling(string RequestId, PoolingItem Item, TaskCompletionSource<float[][]> Done, int Priority = 0);

/// <summary>Answer to <see cref="GetStats"/> from a pooling engine core.</summary>
public sealed record PoolingStats(long Steps, long FailedSteps, int Requests, int Running, int Waiting);
