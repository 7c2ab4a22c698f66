using Akka.Actor;
using Pipeline.Actors.Engine;

namespace Pipeline.Actors.Stages;

/// <summary>
/// Tokenizes and validates one request at a time (run as a pool on the CPU dispatcher). Bad input is answered
/// with a <see cref="Tokenized"/> carrying the error, so it fails that request alone; a crash restarts the actor
/// and the failing request's asker gets a failure to retry on. Crashes in a row pause the restarted actor, which holds
/// the asks that arrive meanwhile (<see cref="BackoffStageActor"/>).
/// </summary>
public sealed class TokenizerActor : BackoffStageActor
{
    public TokenizerActor(InputProcessor inputs, FaultInjector faults, StageRestarts restarts) : base(restarts)
    {
        Receive<GenerateCommand>(cmd =>
        {
            faults.MaybeThrow("tokenizer");
            try
            {
                var (request, prompt) = inputs.Process(cmd.RequestId, cmd.Prompt, cmd.Params, cmd.Priority, cmd.CacheSalt, cmd.Lora);
                Sender.Tell(new Tokenized(cmd, request, prompt, null));
            }
            catch (Exception e) when (e is ArgumentException or Pipeline.Models.Tokenizers.TokenizerLoadException)
            {
                Sender.Tell(new Tokenized(cmd, null, null, e));
            }
        });
    }

    protected override void PreRestart(Exception reason, object message)
    {
        if (message is GenerateCommand) Sender.Tell(new Status.Failure(reason));
        base.PreRestart(reason, message);
    }

    public static Props Props(InputProcessor inputs, FaultInjector faults, StageRestarts? restarts = null)
    {
        restarts ??= new StageRestarts("tokenizer");
        return Akka.Actor.Props.Create(() => new TokenizerActor(inputs, faults, restarts));
    }
}
