namespace Pipeline.Actors.Cluster;

/// <summary>A front node's routing settings.</summary>
public sealed record ClusterRouterSettings
{
    public ClusterRoutingPolicy Policy { get; init; } = ClusterRoutingPolicy.PrefixAffinity;
    /// <summary>An affinity target may hold this many more outstanding requests than the least-loaded replica.</summary>
    public int BalanceThreshold { get; init; } = 8;
    /// <summary>How long a request (new or resumed) may wait for a replica that can take it before it fails explicitly.</summary>
    public TimeSpan NoWorkerTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Block size of the prefix hashes (the workers' KV block size).</summary>
    public int BlockSize { get; init; } = 16;
    /// <summary>Cluster role of worker nodes.</summary>
    public string WorkerRole { get; init; } = "worker";
}

/// <summary>No worker could take the request within the timeout (none joined, all draining or lost, or all full).</summary>
public sealed class NoWorkerAvailableException(string requestId, TimeSpan waited, int tokensStreamed)
    : Exception($"no worker can take request {requestId}: none was available for {waited.TotalSeconds:0.#} s" +
        (tokensStreamed > 0 ? $" after its worker was lost ({tokensStreamed} tokens had been streamed)" : ""));

/// <summary>The worker running the request failed it.</summary>
public sealed class ClusterWorkerException(string requestId, string message) : Exception($"request {requestId} failed on its worker: {message}");
