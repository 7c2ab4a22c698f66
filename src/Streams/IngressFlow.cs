using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Actors.Stages;

namespace Pipeline.Streams;

/// <summary>
/// The request path as a back-pressured stream: ingress channel -> tokenize (actor pool, bounded parallelism)
/// -> preprocess (actor pool; images fetched and processed asynchronously) -> engine admission (which answers only when the engine has room) -> done. A request refused
/// or failed on the way ends at its subscriber with the error; a crashed stage is retried, then fails the request.
/// </summary>
public static class IngressFlow
{
    public static (UniqueKillSwitch KillSwitch, Task Completion) Run(ChannelReader<GenerateCommand> ingress, IActorRef tokenizer,
        IActorRef preprocessor, IActorRef admission, PipelineOptions options, IMaterializer materializer)
    {
        var (killSwitch, done) = ChannelSource.FromReader(ingress)
            .ViaMaterialized(KillSwitches.Single<GenerateCommand>(), Keep.Right)
            .SelectAsync(options.TokenizerParallelism, cmd => AskWithRetry(tokenizer, cmd, "tokenizer", cmd, options))
            .Where(Accepted)
            // Unordered: a request waiting on a slow image URL does not hold back the ones behind it.
            .SelectAsyncUnordered(options.PreprocessorParallelism, t => AskWithRetry(preprocessor, t, "preprocessor", t.Command, options))
            .Where(Accepted)
            .SelectAsync(1, t => admission.Ask<Admitted>(new Admit(t), Timeout.InfiniteTimeSpan))
            .ToMaterialized(Sink.Ignore<Admitted>(), Keep.Both)
            .Run(materializer);
        return (killSwitch, done);
    }

    static bool Accepted(Tokenized t)
    {
        if (t.Error == null) return true;
        t.Command.Sink.Fail(t.Error);
        return false;
    }

    /// <summary>
    /// A request whose retries are spent comes out carrying its error (failed by <see cref="Accepted"/>): never null,
    /// which an Akka.NET SelectAsync takes as a stream failure, stopping every later request.
    /// </summary>
    static async Task<Tokenized> AskWithRetry(IActorRef actor, object message, string stage, GenerateCommand cmd, PipelineOptions options)
    {
        Exception? last = null;
        for (int attempt = 0; attempt <= options.StageRetries; attempt++)
        {
            try { return await actor.Ask<Tokenized>(message, options.StageTimeout).ConfigureAwait(false); }
            catch (Exception e) { last = e; }
        }
        return new Tokenized(cmd, null, null, new PipelineStageException(stage, cmd.RequestId, last!));
    }
}
