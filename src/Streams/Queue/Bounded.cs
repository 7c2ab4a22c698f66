namespace Pipeline.Streams.Queue;

/// <summary>
/// Time limits around client-library calls that can hang when the connection dies under them (closing a channel
/// whose consumer is mid-delivery, writes to a broker that went away): the call is abandoned, never awaited forever.
/// </summary>
static class Bounded
{
    public static readonly TimeSpan Close = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan Operation = TimeSpan.FromSeconds(30);

    /// <summary>Runs a clean-up call, ignoring its failure and giving up on it after <paramref name="limit"/>.</summary>
    public static async Task Quietly(Func<Task> call, TimeSpan limit)
    {
        try
        {
            var t = call();
            _ = t.ContinueWith(x => _ = x.Exception, TaskContinuationOptions.OnlyOnFaulted);
            await t.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (Exception) { }
    }

    public static Task Quietly(Func<ValueTask> call, TimeSpan limit) => Quietly(() => call().AsTask(), limit);
}
