using Akka.Actor;

namespace Pipeline.Actors.Stages;

/// <summary>The multimodal preprocessing stage: images and audio will be decoded here; text passes through.</summary>
public sealed class PreprocessorActor : ReceiveActor
{
    public PreprocessorActor(FaultInjector faults)
    {
        Receive<Tokenized>(t =>
        {
            faults.MaybeThrow("preprocessor");
            Sender.Tell(t);
        });
    }

    protected override void PreRestart(Exception reason, object message)
    {
        if (message is Tokenized) Sender.Tell(new Status.Failure(reason));
        base.PreRestart(reason, message);
    }

    public static Props Props(FaultInjector faults) => Akka.Actor.Props.Create(() => new PreprocessorActor(faults));
}
