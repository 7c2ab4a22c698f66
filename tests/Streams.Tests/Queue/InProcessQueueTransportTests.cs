using System.Text;
using Pipeline.Streams.Queue;

namespace Pipeline.Streams.Tests.Queue;

public class InProcessQueueTransportTests
{
    static byte[] Body(string s) => Encoding.UTF8.GetBytes(s);
    static string Text(QueueDelivery d) => Encoding.UTF8.GetString(d.Message.Body.Span);

    static async Task<QueueDelivery?> Next(IAsyncEnumerator<QueueDelivery> e, int timeoutMs = 1000)
    {
        var move = e.MoveNextAsync().AsTask();
        return await Task.WhenAny(move, Task.Delay(timeoutMs)) == move && await move ? e.Current : null;
    }

    [Fact]
    public async Task PrefetchBoundsUnsettledDeliveries()
    {
        await using var t = new InProcessQueueTransport(new QueueTopology { Prefetch = 3 });
        for (int i = 0; i < 5; i++) await t.PublishRequestAsync(Body($"m{i}"), QueueProperties.Default, default);
        using var cts = new CancellationTokenSource();
        await using var e = t.ConsumeAsync(cts.Token).GetAsyncEnumerator();
        var got = new List<QueueDelivery>();
        for (int i = 0; i < 3; i++) got.Add((await Next(e))!);
        Assert.Equal(["m0", "m1", "m2"], got.Select(Text));
        var fourth = e.MoveNextAsync().AsTask();
        await Task.Delay(300);
        Assert.False(fourth.IsCompleted, "a 4th delivery while 3 are unsettled breaks the prefetch limit");
        await got[1].AckAsync();
        Assert.True(await fourth.WaitAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal("m3", Text(e.Current));
        cts.Cancel();
    }

    [Fact]
    public async Task ConnectionLossPutsUnsettledMessagesBackInOrderAndTheOldDeliveriesAreDead()
    {
        await using var t = new InProcessQueueTransport(new QueueTopology { Prefetch = 10 });
        for (int i = 0; i < 4; i++) await t.PublishRequestAsync(Body($"m{i}"), QueueProperties.Default, default);
        using var cts = new CancellationTokenSource();
        await using var e = t.ConsumeAsync(cts.Token).GetAsyncEnumerator();
        var first = new List<QueueDelivery>();
        for (int i = 0; i < 4; i++) first.Add((await Next(e))!);
        await first[0].AckAsync();
        t.SimulateConnectionLoss();
        Assert.All(first.Skip(1), d => Assert.False(d.IsLive));
        await first[2].AckAsync(); // dead: does nothing, the message comes again
        var again = new List<QueueDelivery>();
        for (int i = 0; i < 3; i++) again.Add((await Next(e))!);
        Assert.Equal(["m1", "m2", "m3"], again.Select(Text));
        Assert.All(again, d => Assert.True(d.Redelivered && d.IsLive));
        Assert.Equal(0, t.CountOf(t.Topology.RequestQueue));
        Assert.Equal(3, t.UnsettledOf(t.Topology.RequestQueue));
        cts.Cancel();
    }

    [Fact]
    public async Task NackWithRequeueRedeliversAndDeadLetteringCarriesTheReason()
    {
        await using var t = new InProcessQueueTransport();
        await t.PublishRequestAsync(Body("a"), new QueueProperties { MessageId = "a", Headers = new Dictionary<string, string> { ["k"] = "v" } }, default);
        using var cts = new CancellationTokenSource();
        await using var e = t.ConsumeAsync(cts.Token).GetAsyncEnumerator();
        var d = (await Next(e))!;
        Assert.False(d.Redelivered);
        await d.NackAsync(requeue: true);
        var d2 = (await Next(e))!;
        Assert.True(d2.Redelivered);
        await d2.DeadLetterAsync("bad field x");
        await d2.AckAsync(); // settled already: ignored
        var dead = await t.GetAsync(t.Topology.DeadLetterQueue, default);
        Assert.NotNull(dead);
        Assert.Equal("bad field x", dead.Properties.Headers![QueueHeaders.Error]);
        Assert.Equal(t.Topology.RequestQueue, dead.Properties.Headers[QueueHeaders.OriginalQueue]);
        Assert.Equal("v", dead.Properties.Headers["k"]);
        Assert.Equal("a", dead.Properties.MessageId);
        Assert.Equal(0, t.CountOf(t.Topology.RequestQueue));
        cts.Cancel();
    }

    [Fact]
    public async Task EverySubscriberOfAKeyGetsEveryEventInOrder()
    {
        await using var t = new InProcessQueueTransport();
        var subs = new[] { await t.SubscribeAsync("r1", default), await t.SubscribeAsync("r1", default), await t.SubscribeAsync("#", default), await t.SubscribeAsync("r2", default) };
        for (int i = 0; i < 50; i++) await t.PublishEventAsync("r1", Body($"e{i}"), QueueProperties.Default, default);
        await t.PublishEventAsync("r2", Body("other"), QueueProperties.Default, default);
        foreach (var s in subs) await s.DisposeAsync();
        async Task<List<string>> Read(IQueueSubscription s) { var l = new List<string>(); await foreach (var m in s.ReadAllAsync(default)) l.Add(Encoding.UTF8.GetString(m.Body.Span)); return l; }
        var expected = Enumerable.Range(0, 50).Select(i => $"e{i}").ToList();
        Assert.Equal(expected, await Read(subs[0]));
        Assert.Equal(expected, await Read(subs[1]));
        Assert.Equal([.. expected, "other"], await Read(subs[2]));
        Assert.Equal(["other"], await Read(subs[3]));
    }

    [Theory]
    [InlineData("a", "a", true)]
    [InlineData("a", "b", false)]
    [InlineData("#", "a.b.c", true)]
    [InlineData("a.*", "a.b", true)]
    [InlineData("a.*", "a.b.c", false)]
    [InlineData("a.#", "a", true)]
    [InlineData("*.b.#", "x.b.c.d", true)]
    [InlineData("req-1", "req-12", false)]
    public void TopicPatternsMatchAsAmqpDefines(string pattern, string key, bool matches) => Assert.Equal(matches, TopicPattern.Matches(pattern, key));
}
