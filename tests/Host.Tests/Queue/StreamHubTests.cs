using System.Text;
using Pipeline.Host.Queue;

namespace Pipeline.Host.Tests.Queue;

public class StreamHubTests
{
    static byte[] E(string s) => Encoding.UTF8.GetBytes(s);

    static async Task<List<string>> All(IAsyncEnumerable<byte[]> events) =>
        await events.Select(e => Encoding.UTF8.GetString(e)).ToListAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task FollowersGetTheStreamFromTheStartWhenEverTheyJoin()
    {
        var hub = new StreamHub();
        var early = All(hub.Follow("r", default));   // before the request starts
        hub.Publish("r", E("0"), terminal: false);
        var middle = All(hub.Follow("r", default));  // while it runs
        hub.Publish("r", E("1"), terminal: false);
        hub.Publish("r", E("2"), terminal: true);
        hub.Publish("r", E("late copy"), terminal: false); // nothing after the terminal event
        var late = All(hub.Follow("r", default));    // after it finished
        foreach (var f in new[] { early, middle, late }) Assert.Equal(["0", "1", "2"], await f);
    }

    [Fact]
    public async Task FinishedStreamsAreKeptUpToTheCountAndByteLimits()
    {
        var hub = new StreamHub(capacity: 3, maxBytes: 1000);
        for (int i = 0; i < 5; i++) hub.Publish($"r{i}", E("x"), terminal: true);
        using var cts = new CancellationTokenSource(300);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => All(hub.Follow("r1", cts.Token))); // evicted: waits like an unknown id
        Assert.Equal(["x"], await All(hub.Follow("r2", default)));
        hub.Publish("big", new byte[2000], terminal: true); // over the byte limit alone: kept as the newest, the rest evicted
        using var cts2 = new CancellationTokenSource(300);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => All(hub.Follow("r4", cts2.Token)));
        Assert.Single(await All(hub.Follow("big", default)));
    }
}
