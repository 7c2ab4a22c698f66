using System.Runtime.CompilerServices;

namespace Pipeline.Host.Queue;

/// <summary>
/// `pipeline queue follow ID`: when no event arrives at once, says on stderr what it is waiting for (an unknown id
/// otherwise waits out --wait in silence), so a mistyped id or an unpublished request is visible.
/// </summary>
public static class FollowNotice
{
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    public static async IAsyncEnumerable<QueueEvent> Announce(IAsyncEnumerable<QueueEvent> events, string requestId, TimeSpan wait,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var e = events.GetAsyncEnumerator(ct);
        var first = e.MoveNextAsync().AsTask();
        if (await Task.WhenAny(first, Task.Delay(Quiet, ct)) != first)
            Console.Error.WriteLine($"waiting for request '{requestId}' to start: no events yet (a server gives up after --wait {wait.TotalSeconds:0.#} s). " +
                "Check the id, and that it was published to this server or broker (pipeline queue publish --id ID).");
        if (!await first) yield break;
        yield return e.Current;
        while (await e.MoveNextAsync()) yield return e.Current;
    }
}
