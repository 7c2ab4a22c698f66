using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Routing;
using Akka.Streams;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Multimodal;
using Pipeline.Actors.Stages;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Streams;

/// <summary>
/// The served engine: the supervised actor stages (tokenizer pool, preprocessor, one engine core + GPU worker per
/// replica, detokenizer, output router) joined by the back-pressured ingress stream. Callers submit through a
/// bounded channel and read their outputs as an async stream; cancelling the read aborts the request.
/// </summary>
public sealed class PipelineEngine : IAsyncDisposable
{
    readonly ActorSystem _system;
    readonly Channel<GenerateCommand> _ingress;
    readonly IActorRef _admission;
    readonly IActorRef _router;
    readonly UniqueKillSwitch _killSwitch;
    readonly ConcurrentDictionary<string, byte> _inFlight = new();
    readonly ModelContext _context;
    readonly PipelineOptions _options;
    long _nextId;
    volatile bool _accepting = true;

    public ModelContext Context => _context;
    public int MaxModelLen => _context.MaxModelLen;
    public int InFlight => _inFlight.Count;
    /// <summary>Requests waiting in the ingress channel (at most <see cref="PipelineOptions.IngressCapacity"/>).</summary>
    public int IngressBacklog => _ingress.Reader.Count;
    public bool Accepting => _accepting;
    /// <summary>Hung device steps (unhealthy replicas, with reasons) and GPU worker restarts, for /health and /metrics.</summary>
    public EngineHealth Health { get; }
    /// <summary>Restarts and their backoff, by stage (tokenizer, preprocessor, detokenizer, output-router).</summary>
    public Dictionary<string, StageRestarts> StageRestarts { get; } = new();

    /// <param name="admission">The admission stage, given the detokenizer: the in-process replica router, or a front node's cluster router.</param>
    PipelineEngine(ActorSystem system, ModelContext ctx, Func<IActorRef, Props> admission, PipelineOptions options, EngineHealth? health = null)
    {
        Health = health ?? new EngineHealth();
        _system = system;
        _context = ctx;
        _options = options;
        var faults = options.Faults;
        StageRestarts Restarts(string stage) => StageRestarts[stage] = new StageRestarts(stage, options.StageBackoff);
        _router = system.ActorOf(OutputRouterActor.Props(faults, Restarts("output-router")), "output-router");
        var detokenizer = system.ActorOf(DetokenizerActor.Props(new OutputProcessor(ctx.Tokenizer), _router, faults, Restarts("detokenizer")), "detokenizer");
        var inputs = new InputProcessor(ctx.Tokenizer, ctx.Model.Config.VocabSize, ctx.MaxModelLen, ctx.EosTokenIds,
            takesAudio: ctx.Model is Pipeline.Models.Architectures.IEncoderDecoderModel);
        var tokenizer = system.ActorOf(TokenizerActor.Props(inputs, faults, Restarts("tokenizer"))
            .WithRouter(new RoundRobinPool(options.TokenizerParallelism).WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart)))
            .WithDispatcher(Dispatchers.Cpu), "tokenizer");
        var multimodal = new MultiModalInputProcessor(MultiModalSupport.Placeholders(ctx), new MediaConnector(options.Media), ctx.MaxModelLen,
            MultiModalSupport.AudioPlaceholders(ctx));
        var preprocessor = system.ActorOf(PreprocessorActor.Props(multimodal, faults, Restarts("preprocessor"))
            .WithRouter(new RoundRobinPool(options.PreprocessorParallelism).WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart)))
            .WithDispatcher(Dispatchers.Cpu), "preprocessor");
        _admission = system.ActorOf(admission(detokenizer), "replicas");
        _ingress = Channel.CreateBounded<GenerateCommand>(new BoundedChannelOptions(options.IngressCapacity) { FullMode = BoundedChannelFullMode.Wait });
        (_killSwitch, _) = IngressFlow.Run(_ingress.Reader, tokenizer, preprocessor, _admission, options, system.Materializer());
    }

    /// <summary>The first runner uses the loaded model; after a worker crash a fresh runner (state, KV cache) is built over the same weights.</summary>
    public static Func<ModelRunner> RunnerFactory(ReplicaSpec r, SchedulerConfig config)
    {
        var tok = r.Context.Tokenizer;
        return () => new ModelRunner(r.Context.Model, config.NumGpuBlocks, config.BlockSize, r.Context.EosTokenIds,
            tok == null ? null : w => tok.Encode(w, addSpecialTokens: false),
            graphs: new CudaGraphOptions(r.Args.EnforceEager, config.MaxNumSeqs, config.MaxModelLen),
            structuredOutputs: EngineBuilder.StructuredOutputsFor(r.Context), lora: r.Context.Lora);
    }

    public static PipelineEngine Start(ActorSystem system, IReadOnlyList<ReplicaSpec> replicas, PipelineOptions? options = null)
    {
        if (replicas.Count == 0) throw new ArgumentException("at least one replica is needed");
        options ??= new PipelineOptions();
        var configs = replicas.Select(r => EngineBuilder.SchedulerConfigFor(r.Context, r.Args)).ToList();
        var o = options;
        var health = new EngineHealth();
        return new PipelineEngine(system, replicas[0].Context, detokenizer => ReplicaRouterActor.Props((self, i) => EngineCoreActor.Props(i, configs[i],
            RunnerFactory(replicas[i], configs[i]), detokenizer, self, o.MaxWaitingPerReplica, o.Faults, o.StepWatchdog, health), replicas.Count), options, health);
    }

    /// <summary>
    /// A front node: tokenizer, detokenizer and subscribers here, the engine cores on worker nodes of the cluster, reached
    /// through <paramref name="admission"/> (the cluster router, given the detokenizer). <paramref name="context"/> gives
    /// the tokenizer, vocabulary and max_model_len.
    /// </summary>
    public static PipelineEngine StartFront(ActorSystem system, ModelContext context, Func<IActorRef, Props> admission, PipelineOptions? options = null) =>
        new(system, context, admission, options ?? new PipelineOptions());

    /// <summary>Asks the admission stage (the cluster router on a front node) and returns its answer.</summary>
    public Task<T> AskAdmissionAsync<T>(object message, TimeSpan timeout) => _admission.Ask<T>(message, timeout);

    /// <summary>
    /// Submits a request and streams its outputs in the kind its params ask for. A slow reader gets the steps it missed
    /// merged into one output (as vLLM's output collector does), unless <paramref name="everyStep"/> asks for one output
    /// per engine step: then deltas are cut at the same places on every run of the same tokens.
    /// </summary>
    public async IAsyncEnumerable<RequestOutput> GenerateAsync(PromptInput prompt, SamplingParams sp, string? requestId = null,
        int priority = 0, string? cacheSalt = null, [EnumeratorCancellation] CancellationToken ct = default, Pipeline.Models.Lora.LoRARequest? lora = null,
        bool everyStep = false)
    {
        if (!_accepting) throw new EngineShuttingDownException();
        var id = requestId ?? $"req-{Interlocked.Increment(ref _nextId)}";
        if (!_inFlight.TryAdd(id, 0)) throw new ArgumentException($"request id '{id}' is already in flight");
        try
        {
            ReadableOutputSink sink = everyStep ? new StepOutputSink() : new LatestOutputSink();
            var cmd = new GenerateCommand(id, prompt, sp with { OutputKind = RequestOutputKind.Cumulative }, sink, priority, cacheSalt, lora);
            if (!_ingress.Writer.TryWrite(cmd))
            {
                if (_options.RejectWhenFull) throw new EngineOverloadedException(_options.IngressCapacity);
                await _ingress.Writer.WriteAsync(cmd, ct).ConfigureAwait(false);
            }
            using var abortOnCancel = ct.Register(() => _admission.Tell(new AbortRequest(id)));
            RequestOutput? previous = null;
            while (await sink.ReadAsync(ct).ConfigureAwait(false) is { } current)
            {
                var converted = OutputConversion.Convert(current, previous, sp.OutputKind);
                previous = current;
                if (converted != null) yield return converted;
                if (current.Finished) yield break;
            }
        }
        finally
        {
            _inFlight.TryRemove(id, out _);
        }
    }

    /// <summary>Runs one request to its final output.</summary>
    public async Task<RequestOutput> GenerateFinalAsync(PromptInput prompt, SamplingParams sp, string? requestId = null, CancellationToken ct = default)
    {
        RequestOutput? last = null;
        await foreach (var o in GenerateAsync(prompt, sp with { OutputKind = RequestOutputKind.FinalOnly }, requestId, ct: ct).ConfigureAwait(false)) last = o;
        return last ?? throw new InvalidOperationException("the request ended without output");
    }

    public void Abort(string requestId) => _admission.Tell(new AbortRequest(requestId));

    public Task<ReplicaStats[]> GetStatsAsync() => _admission.Ask<ReplicaStats[]>(new GetStats(), TimeSpan.FromSeconds(10));

    /// <summary>Stops admitting, lets in-flight requests finish within <paramref name="timeout"/>, aborts the rest.</summary>
    public Task ShutdownAsync(TimeSpan timeout) => ShutdownAsync(timeout, CancellationToken.None);

    /// <summary>As <see cref="ShutdownAsync(TimeSpan)"/>; cancelling <paramref name="stopNow"/> ends the wait early and aborts what is still running.</summary>
    public async Task ShutdownAsync(TimeSpan timeout, CancellationToken stopNow)
    {
        _accepting = false;
        _ingress.Writer.TryComplete();
        var deadline = DateTime.UtcNow + timeout;
        while (!_inFlight.IsEmpty && DateTime.UtcNow < deadline && !stopNow.IsCancellationRequested) await Task.Delay(20).ConfigureAwait(false);
        foreach (var id in _inFlight.Keys) Abort(id);
        var grace = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!_inFlight.IsEmpty && DateTime.UtcNow < grace) await Task.Delay(20).ConfigureAwait(false);
        _killSwitch.Shutdown();
    }

    public async ValueTask DisposeAsync() => await ShutdownAsync(TimeSpan.Zero).ConfigureAwait(false);
}

public sealed class EngineShuttingDownException() : Exception("the engine is shutting down and accepts no new requests");

public sealed class EngineOverloadedException(int capacity) : Exception($"the engine's admission queue is full ({capacity} requests waiting); retry later");
