using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>
/// Turns engine outputs into client outputs: incremental detokenization, stop strings (reported back to the
/// engine core so blocks are freed at once), n &gt; 1 assembly. Its <see cref="OutputProcessor"/> is owned by
/// whoever creates the actor, so a restart keeps every other request's state; the requests of the message that
/// crashed it are failed explicitly and aborted in the engine. Crashes in a row pause the restarted actor; the messages
/// that arrive meanwhile are held and handled in order after the pause (<see cref="BackoffStageActor"/>).
/// </summary>
public sealed class DetokenizerActor : BackoffStageActor
{
    readonly OutputProcessor _processor;
    readonly IActorRef _router;

    public DetokenizerActor(OutputProcessor processor, IActorRef router, FaultInjector faults, StageRestarts restarts) : base(restarts)
    {
        _processor = processor;
        _router = router;
        Receive<TrackRequest>(t =>
        {
            _router.Tell(new RegisterSink(t.Request.RequestId, t.Sink));
            _processor.AddRequest(t.Request, t.Prompt);
        });
        Receive<EngineOutputs>(e =>
        {
            faults.MaybeThrow("detokenizer");
            var (outputs, stopped) = _processor.Process(e.Outputs);
            foreach (var o in outputs) _router.Tell(new Deliver(o));
            if (stopped.Count > 0) Sender.Tell(new StoppedByString(stopped));
        });
        Receive<FinishOutput>(f =>
        {
            var final = _processor.Finish(f.RequestId, f.Reason);
            if (f.Error != null) _router.Tell(new FailRequest(f.RequestId, f.Error));
            else if (final != null) _router.Tell(new Deliver(final));
            else _router.Tell(new FailRequest(f.RequestId, new OperationCanceledException($"request {f.RequestId} was aborted")));
        });
    }

    protected override void PreRestart(Exception reason, object message)
    {
        if (message is EngineOutputs e)
        {
            var clients = e.Outputs.Select(o => _processor.ClientIdOf(o.RequestId)).OfType<string>().Distinct().ToList();
            foreach (var id in clients)
            {
                _processor.Finish(id, FinishReason.Error);
                _router.Tell(new FailRequest(id, new PipelineStageException("detokenizer", id, reason)));
                Sender.Tell(new AbortRequest(id));
            }
        }
        base.PreRestart(reason, message);
    }

    public static Props Props(OutputProcessor processor, IActorRef router, FaultInjector faults, StageRestarts? restarts = null)
    {
        restarts ??= new StageRestarts("detokenizer");
        return Akka.Actor.Props.Create(() => new DetokenizerActor(processor, router, faults, restarts)).WithDispatcher(Dispatchers.Cpu);
    }
}

/// <summary>A pipeline stage failed while holding this request; the request ends with this error.</summary>
public sealed class PipelineStageException(string stage, string requestId, Exception inner)
    : Exception($"request {requestId} failed in the {stage} stage: {inner.Message}", inner)
{
    public string Stage { get; } = stage;
}
