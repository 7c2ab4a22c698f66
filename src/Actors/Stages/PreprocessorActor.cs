using Akka.Actor;
using Pipeline.Actors.Multimodal;

namespace Pipeline.Actors.Stages;

/// <summary>
/// The multimodal preprocessing stage (run as a supervised pool): a request with images has them fetched, decoded and
/// processed asynchronously (<see cref="MultiModalInputProcessor"/>, off this actor's thread, so a slow URL holds up only
/// its own request) and its prompt's placeholders expanded; text passes through. A bad image answers the request with a
/// <see cref="Tokenized"/> carrying the error, failing that request alone. Crashes in a row pause the restarted actor,
/// which holds the asks that arrive meanwhile (<see cref="BackoffStageActor"/>).
/// </summary>
public sealed class PreprocessorActor : BackoffStageActor
{
    public PreprocessorActor(MultiModalInputProcessor? multimodal, FaultInjector faults, StageRestarts restarts) : base(restarts)
    {
        Receive<Tokenized>(t =>
        {
            faults.MaybeThrow("preprocessor");
            var prompt = t.Command.Prompt;
            bool hasMedia = prompt.HasImages || prompt.HasAudioClips;
            if (t.Request == null || t.Error != null || (!hasMedia && multimodal?.ChecksEveryPrompt != true))
            {
                Sender.Tell(t);
                return;
            }
            if (multimodal == null)
            {
                Sender.Tell(t with { Request = null, Error = new Pipeline.Models.Multimodal.MediaException(
                    prompt.HasImages ? "this model does not take images" : "this model does not take audio") });
                return;
            }
            var sender = Sender;
            Task<Pipeline.Actors.Engine.Request> work;
            try { work = multimodal.ProcessAsync(t.Request, prompt); }
            catch (Exception e) { work = Task.FromException<Pipeline.Actors.Engine.Request>(e); }
            work.ContinueWith(task => task.IsCompletedSuccessfully
                    ? t with { Request = task.Result }
                    : t with { Request = null, Error = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException : task.Exception },
                TaskScheduler.Default).PipeTo(sender);
        });
    }

    protected override void PreRestart(Exception reason, object message)
    {
        if (message is Tokenized) Sender.Tell(new Status.Failure(reason));
        base.PreRestart(reason, message);
    }

    public static Props Props(MultiModalInputProcessor? multimodal, FaultInjector faults, StageRestarts? restarts = null)
    {
        restarts ??= new StageRestarts("preprocessor");
        return Akka.Actor.Props.Create(() => new PreprocessorActor(multimodal, faults, restarts));
    }
}
