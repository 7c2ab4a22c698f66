using Akka.Actor;
using Pipeline.Actors.Cluster;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Tests.Cluster;

/// <summary>What a front remembers of a request in flight, and what a resumed attempt carries to the next worker.</summary>
public class RequestFlightTests
{
    [Fact]
    public void AResumedAttemptCarriesTheStreamedTokensAndLateOutputsOfTheOldOneAreNotTaken()
    {
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 10, N = 2, PromptLogprobs = 1 };
        var flight = new RequestFlight(new Request("r1", [5, 6, 7], sp, [2]), admitReplyTo: null);
        var first = flight.NextAdmit(ActorRefs.Nobody);
        Assert.Equal(1, first.Attempt);
        Assert.All(first.Children, c => Assert.Empty(c.OutputTokenIds));

        var o = flight.Accept(new RemoteOutput("r1", 1, 0, [11, 12], null, [new RemoteLogprobs(5, -1f, 1, [5], [-1f])], null, null, 0))!;
        Assert.Equal(ParentRequest.ChildId(0, "r1"), o.RequestId);
        flight.Accept(new RemoteOutput("r1", 1, 1, [21], null, null, FinishReason.Stop, null, 0));   // child 1 ended
        flight.Accept(new RemoteOutput("r1", 1, 1, [22], null, null, null, null, 0));                // nothing after its end
        Assert.Equal(1, flight.Weight);

        var resumed = flight.NextAdmit(ActorRefs.Nobody);
        Assert.Equal(2, resumed.Attempt);
        var child = Assert.Single(resumed.Children);
        Assert.Equal(0, child.Index);
        Assert.Equal([11, 12], child.OutputTokenIds);
        Assert.Null(SamplingParamsJson.Read(resumed.SamplingParamsJson).PromptLogprobs);   // delivered once already

        // On the worker the resumed child continues after its streamed tokens, counting them against max_tokens.
        var (request, index) = Assert.Single(WorkerReplicaActor.ToRequests(resumed));
        Assert.Equal(0, index);
        Assert.Equal([11, 12], request.OutputTokenIds);
        Assert.Equal(2, request.NumResumedOutputTokens);
        Assert.Equal(1, request.SamplingParams.N);
        Assert.Equal(10, request.SamplingParams.MaxTokens);
    }

    [Fact]
    public void EngineIdsOfChildrenMapBackToTheirRequest()
    {
        Assert.Equal(("r1", 0), RequestFlight.ParseEngineId("r1", id => id == "r1"));
        Assert.Equal(("r_1", 3), RequestFlight.ParseEngineId("3_r_1", id => id == "r_1"));
    }
}
