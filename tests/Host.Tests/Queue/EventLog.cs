using System.Collections.Concurrent;
using Pipeline.Host.Queue;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>Every event one follower received, by request id, in arrival order.</summary>
public sealed class EventLog
{
    readonly ConcurrentDictionary<string, List<QueueEvent>> _byRequest = new();
    readonly ConcurrentDictionary<string, byte> _terminal = new();
    int _rawTerminal;

    /// <summary>Request ids with a final or error event.</summary>
    public int Finished => _terminal.Count;
    /// <summary>Final or error events received, copies included.</summary>
    public int RawTerminal => Volatile.Read(ref _rawTerminal);

    public List<QueueEvent> Of(string requestId)
    {
        var list = _byRequest.GetOrAdd(requestId, _ => new List<QueueEvent>());
        lock (list) return list.ToList();
    }

    /// <summary>The events without copies of one already received (same seq), as a follower dedupes them.</summary>
    public List<QueueEvent> Deduped(string requestId) => Of(requestId).DistinctBy(e => e.Seq).ToList();

    public Task Pump(IQueueSubscription sub, CancellationToken ct) => Task.Run(async () =>
    {
        try
        {
            await foreach (var m in sub.ReadAllAsync(ct)) Add(QueueEvent.Parse(m.Body.Span));
        }
        catch (OperationCanceledException) { }
    });

    void Add(QueueEvent e)
    {
        var list = _byRequest.GetOrAdd(e.RequestId, _ => new List<QueueEvent>());
        lock (list) list.Add(e);
        if (!e.IsTerminal) return;
        Interlocked.Increment(ref _rawTerminal);
        _terminal.TryAdd(e.RequestId, 0);
    }

    public async Task WaitFor(int finished, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Finished < finished)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Finished} of {finished} requests finished within {timeout}");
            await Task.Delay(20);
        }
    }

    /// <summary>Checks one request's events as a follower must see them: seq 0.. with no gap, deltas adding up to the final.</summary>
    public static QueueEvent CheckStream(IReadOnlyList<QueueEvent> events)
    {
        Assert.NotEmpty(events);
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Seq));
        var final = events[^1];
        Assert.Equal(QueueEvents.Final, final.Type);
        Assert.All(events.SkipLast(1), e => Assert.Equal(QueueEvents.Delta, e.Type));
        var choice = final.Json.GetProperty("choices")[0];
        Assert.Equal(choice.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()), events.SkipLast(1).SelectMany(e => e.TokenIds));
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(events.SkipLast(1).Select(e => e.Text)));
        return final;
    }

    /// <summary>
    /// As <see cref="CheckStream"/> for a request whose process died after storing its final: seqs increase, the deltas
    /// that did arrive are a prefix of the final's tokens, and the final is there.
    /// </summary>
    public static QueueEvent CheckStreamUpToFinal(IReadOnlyList<QueueEvent> events)
    {
        Assert.NotEmpty(events);
        var seqs = events.Select(e => e.Seq).ToList();
        Assert.Equal(seqs.Order(), seqs);
        var final = events[^1];
        Assert.Equal(QueueEvents.Final, final.Type);
        Assert.All(events.SkipLast(1), e => Assert.Equal(QueueEvents.Delta, e.Type));
        var finalTokens = FinalTokens(final);
        var deltaTokens = events.SkipLast(1).SelectMany(e => e.TokenIds).ToArray();
        Assert.True(deltaTokens.Length <= finalTokens.Length && finalTokens.Take(deltaTokens.Length).SequenceEqual(deltaTokens),
            "the deltas that arrived are a prefix of the final's tokens");
        return final;
    }

    public static int[] FinalTokens(QueueEvent final) =>
        final.Json.GetProperty("choices")[0].GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
}
