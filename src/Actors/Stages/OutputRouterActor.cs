using Akka.Actor;

namespace Pipeline.Actors.Stages;

/// <summary>Delivers each request's outputs to its subscriber and forgets the request once it has ended.</summary>
public sealed class OutputRouterActor : ReceiveActor
{
    readonly Dictionary<string, IOutputSink> _sinks = new();

    public OutputRouterActor()
    {
        Receive<RegisterSink>(r => _sinks[r.RequestId] = r.Sink);
        Receive<Deliver>(d =>
        {
            if (!_sinks.TryGetValue(d.Output.RequestId, out var sink)) return;
            sink.Write(d.Output);
            if (d.Output.Finished) _sinks.Remove(d.Output.RequestId);
        });
        Receive<FailRequest>(f =>
        {
            if (_sinks.Remove(f.RequestId, out var sink)) sink.Fail(f.Error);
        });
        Receive<GetStats>(_ => Sender.Tell(_sinks.Count));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new OutputRouterActor());
}
