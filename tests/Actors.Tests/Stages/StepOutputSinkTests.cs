using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;

namespace Pipeline.Actors.Tests.Stages;

public class StepOutputSinkTests
{
    static RequestOutput Cumulative(string text, int[] tokens, string? finish = null) =>
        new("r", null, [1, 2], null, [new CompletionOutput(0, text, tokens, null, finish, null)], finish != null);

    [Fact]
    public async Task AReaderThatFellBehind_GetsOneStatePerWrite_WithTheLengthsOfThatWrite()
    {
        var sink = new StepOutputSink();
        sink.Write(Cumulative("He", [7]));
        sink.Write(Cumulative("Hello", [7, 8]));
        sink.Write(Cumulative("Hello wor", [7, 8, 9]));
        sink.Write(Cumulative("Hello world", [7, 8, 9, 10], "length"));

        var read = new List<RequestOutput>();
        while (await sink.ReadAsync(CancellationToken.None) is { } o) read.Add(o);

        Assert.Equal(["He", "Hello", "Hello wor", "Hello world"], read.Select(o => o.Outputs[0].Text));
        Assert.Equal([1, 2, 3, 4], read.Select(o => o.Outputs[0].TokenIds.Count));
        Assert.Equal([false, false, false, true], read.Select(o => o.Finished));
        Assert.Equal([null, null, null, "length"], read.Select(o => o.Outputs[0].FinishReason));
    }

    [Fact]
    public async Task TheLatestSink_MergesTheSameWrites_WhichIsWhyTheQueueUsesTheStepSink()
    {
        var sink = new LatestOutputSink();
        sink.Write(Cumulative("He", [7]));
        sink.Write(Cumulative("Hello", [7, 8]));
        var o = await sink.ReadAsync(CancellationToken.None);
        Assert.Equal("Hello", o!.Outputs[0].Text);
    }

    [Fact]
    public async Task AFailureAfterSomeSteps_DeliversThoseStepsThenThrows()
    {
        var sink = new StepOutputSink();
        sink.Write(Cumulative("a", [3]));
        sink.Fail(new InvalidOperationException("gpu stage"));
        Assert.Equal("a", (await sink.ReadAsync(CancellationToken.None))!.Outputs[0].Text);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sink.ReadAsync(CancellationToken.None));
    }
}
