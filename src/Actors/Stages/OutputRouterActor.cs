using Akka.Actor;

namespace Pipeline.Actors.Stages;

/// <summary>
/// Delivers each request's outputs to its subscriber and forgets the request once it has ended. The subscribers are
/// kept outside the actor (one table per <see cref="Props"/>), so a restart keeps every other request's; the request of
/// the message that crashed it is failed explicitly. Crashes in a row pause the restarted actor, which holds its
/// messages meanwhile (<see cref="BackoffStageActor"/>).
/// </summary>
public sealed class OutputRouterActor : BackoffStageActor
{
    readonly Dictionary<string, IOutputSink> _sinks;

    public OutputRouterActor(Dictionary<string, IOutputSink> sinks, FaultInjector faults, StageRestarts restarts) : base(restarts)
    {
        _sinks = sinks;
        Receive<RegisterSink>(r => _sinks[r.RequestId] = r.Sink);
        Receive<Deliver>(d =>
        {
            if (!_sinks.TryGetValue(d.Output.RequestId, out var sink)) return;
            faults.MaybeThrow("output-router");
            sink.Write(d.Output);
            if (d.Output.Finished) _sinks.Remove(d.Output.RequestId);
        });
        Receive<FailRequest>(f =>
        {
            if (_sinks.Remove(f.RequestId, out var sink)) sink.Fail(f.Error);
        });
        Receive<GetStats>(_ => Sender.Tell(_sinks.Count));
    }

    protected override void PreRestart(Exception reason, object message)
    {
        var id = message switch { Deliver d => d.Output.RequestId, FailRequest f => f.RequestId, _ => null };
        if (id != null && _sinks.Remove(id, out var sink))
        {
            try { sink.Fail(new PipelineStageException("output-router", id, reason)); }
            catch (Exception) { /* the sink that crashed us: nothing more to tell it */ }
        }
        base.PreRestart(reason, message);
    }

    public static Props Props(FaultInjector? faults = null, StageRestarts? restarts = null)
    {
        var sinks = new Dictionary<string, IOutputSink>();
        faults ??= FaultInjector.None;
        restarts ??= new StageRestarts("output-router");
        return Akka.Actor.Props.Create(() => new OutputRouterActor(sinks, faults, restarts));
    }
}
