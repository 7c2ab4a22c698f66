using Akka.Actor;
using Akka.Hosting;
using Pipeline.Actors.Chat;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Hosting;
using Pipeline.Host.Cli;
using Pipeline.Host.Cluster;
using Pipeline.Host.Http;
using Pipeline.Host.Progress;
using Pipeline.Host.Protocol;
using Pipeline.Host.Queue;
using Pipeline.Streams.Queue;
using Pipeline.Actors.Pooling;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Pooling;
using Pipeline.Models.Registry;
using Pipeline.Streams;
using Prometheus;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline serve`: the hosted service. Akka.Hosting owns the actor system; the model is loaded once per
/// replica, the actor/stream pipeline started, and the OpenAI-compatible API served. SIGTERM stops admission,
/// lets in-flight requests finish within --shutdown-timeout, aborts the rest, and exits 0.
/// </summary>
public static class ServeCommand
{
    public static readonly CommandSpec Spec = new("serve", "Serve a model (default: the built-in pipeline-tiny-en) over an OpenAI-compatible HTTP API and a message queue.", ["[MODEL]"],
    [
        new("host", "address to listen on (0.0.0.0 for all interfaces)", "127.0.0.1"),
        new("port", "port to listen on", "8000"),
        new("served-model-name", "model name clients use (default: the MODEL argument, or pipeline-tiny-en for the built-in model)"),
        new("api-key", "require 'Authorization: Bearer KEY' on /v1 routes"),
        new("chat-template", "a Jinja chat template (file or string) instead of the tokenizer's"),
        new("devices", "comma-separated devices, one data-parallel replica each (e.g. cuda:0,cuda:1 or cpu,cpu); default: one on --device"),
        new("shutdown-timeout", "seconds in-flight requests may take to finish on Ctrl-C or SIGTERM (a second Ctrl-C stops at once, aborting them)", "30"),
        new("enable-log-requests", "log each request at info level: id, route, status, tokens, time (--no-enable-log-requests turns it off, as in vLLM)", "true", IsFlag: true),
        new("disable-log-requests", "the same as --no-enable-log-requests (vLLM's older spelling)", IsFlag: true),
        new("max-request-body-bytes", "larger request bodies are refused with 413", "33554432"),
        new("max-pending-requests", "requests queued for admission before new ones get 429", "512"),
        new("enable-auto-tool-choice", "parse tool calls out of chat answers for tool_choice \"auto\" (needs --tool-call-parser)", "false", IsFlag: true),
        new("tool-call-parser", "how the model writes tool calls: " + string.Join(", ", Pipeline.Host.ToolParsers.ToolParserManager.Names), Metavar: "NAME"),
        new("reasoning-parser", "separate the model's thinking into reasoning_content: " + string.Join(", ", Pipeline.Host.Reasoning.ReasoningParserManager.Names), Metavar: "NAME"),
        new("strict-request-fields", "answer 400 naming unknown request fields (a queue message is dead-lettered) instead of logging a warning and ignoring them", "false", IsFlag: true),
        new("step-timeout", "seconds a device step may make no progress before its requests fail, /health turns 503 and the GPU worker is replaced (0: off)", "60"),
        new("step-timeout-first-shape", "the same for the first step of each batch shape on a (new) worker, which may compile kernels or capture CUDA graphs", "600"),
        new("on-step-timeout", "after a hung step: restart (a fresh GPU worker) or exit (non-zero, for a supervisor to restart the process)", "restart"),
        new("inject-faults", "testing only: make stages throw or a GPU step hang, e.g. p=0.01;stages=gpu,detokenizer;seed=7;hang-step=40;hang-seconds=30", Metavar: "SPEC"),
        new("task", "auto, generate, embed, classify, score or reward; must be one the model (as --runner/--convert make it) supports", "auto"),
        .. RunnerOptions.Options,
        .. MediaCliOptions.Options,
        new("override-pooler-config", "pooling models: JSON pooler settings, e.g. {\"pooling_type\":\"MEAN\",\"normalize\":true}", Metavar: "JSON"),
        new("queue", "message-queue service mode: inproc (an in-process queue, fed by POST /v1/queue/requests), an amqp://user:pass@host:5672/vhost RabbitMQ broker, or off", "inproc", Metavar: "URL"),
        .. QueueOptions.Topology,
        new("state-db", "SQLite file keeping finished queue requests (ids and final events) across restarts: a redelivered finished request is acknowledged without running, /v1/streams replays it", Metavar: "FILE"),
        new("state-retention", "finished requests kept in --state-db (the oldest are dropped first)", "100000"),
        new("state-keep-deltas", "also keep each finished request's delta events in --state-db, so /v1/streams replays the whole stream after a restart", "false", IsFlag: true),
        new("queue-prefetch", "most unacknowledged request messages held at once (back-pressure to the broker)", QueueOptions.Defaults.Prefetch.ToString()),
        new("config", "JSON file of option values (names as on the command line); PIPELINE_* environment variables also set options"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
        .. ClusterNodeOptions.Options,
        .. LoraCliOptions.Options,
    ]);

    /// <summary>A pooling model (embed, classify, score, reward): its requests scheduled by a pooling engine-core actor's token budget and run by the device's GPU worker actor.</summary>
    static async Task<int> ServePooling(WebApplication app, string url, ParsedArgs args, string dir, string servedName, EngineArgs engineArgs, RunnerSelection selection, string task)
    {
        var device = Pipeline.Models.Runtime.TorchRuntime.ResolveDevice(engineArgs.Device, engineArgs.LibTorch);
        var tokDir = engineArgs.Tokenizer is string t ? Pipeline.Models.Loading.ModelResolver.Resolve(t) : dir;
        var tok = !engineArgs.SkipTokenizerInit && ModelContext.HasTokenizerFiles(tokDir) ? Pipeline.Models.Tokenizers.HfTokenizer.Load(tokDir) : null;
        var overrides = args.Get("override-pooler-config") is string j ? PoolerConfig.Parse(j) : null;
        var progress = LoadProgress.ForService(app.Logger);
        var (model, _) = LoadProgress.Load(progress, LoadProgress.Label(dir), engineArgs.LoadFormat == "dummy" ? null : dir, () => PoolingModelLoader.Load(dir, new Pipeline.Models.Loading.LoadOptions
            { Dtype = engineArgs.Dtype, LoadFormat = engineArgs.LoadFormat, HfOverrides = engineArgs.HfOverrides, Seed = engineArgs.Seed }, device, selection));
        int maxLen = engineArgs.MaxModelLen ?? model.MaxInputLength;
        if (maxLen > model.MaxInputLength)
            throw new ArgumentException($"--max-model-len {maxLen} is longer than the model supports ({model.MaxInputLength}, from max_position_embeddings in config.json)");
        var runner = new PoolingRunner(model, dir, overrides);
        var config = PoolingEngine.ConfigFor(maxLen, engineArgs.MaxNumBatchedTokens, engineArgs.MaxNumSeqs, engineArgs.SchedulingPolicy);
        AsyncPoolingEngine? service = null;
        UseRequestLog(app, args);
        app.UseHttpMetrics();
        ApiServer.UseApiConventions(app, args.Get("api-key"));
        PoolingApi.Map(app, new PoolingApi.Context(() => service, tok, servedName, dir, maxLen, task == "auto" ? selection.Tasks[0] : task, Requests(args, app)));
        app.MapGet("/metrics", async http => await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted));
        await Listening.StartAsync(app, url);
        service = AsyncPoolingEngine.Start(app.Services.GetRequiredService<ActorSystem>(), runner, config, args.Int("max-pending-requests"), name: "pooling-engine");
        using var signals = new ShutdownSignals(app.Logger);
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            int seconds = args.Int("shutdown-timeout");
            signals.LogDraining(PoolingRequests(service), seconds);
            // A second Ctrl-C stops waiting; the host then closes the connections still open.
            Task.WhenAny(service.ShutdownAsync(TimeSpan.FromSeconds(seconds)), Task.Delay(Timeout.Infinite, signals.StopNow)).GetAwaiter().GetResult();
        });
        app.Logger.LogInformation("serving pooling model {Model} ({Arch}{Convert}) as '{Name}' on {Urls}", dir, model.Config.Architecture,
            selection.Convert == ConvertType.None ? "" : $", converted: {selection.Convert.ToString().ToLowerInvariant()}", servedName, string.Join(",", app.Urls));
        await app.WaitForShutdownAsync();
        model.Dispose();
        return 0;
    }

    static int PoolingRequests(AsyncPoolingEngine service)
    {
        try { return service.GetStatsAsync().WaitAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult().Requests; }
        catch (Exception e) when (e is TimeoutException or Akka.Actor.AskTimeoutException or TaskCanceledException) { return 0; }
    }

    /// <summary>One info line per request unless --no-enable-log-requests (or vLLM's older --disable-log-requests).</summary>
    static void UseRequestLog(WebApplication app, ParsedArgs args)
    {
        if (args.Flag("enable-log-requests") && !args.Flag("disable-log-requests")) RequestLog.Use(app);
    }

    /// <summary>The exit code after a hung device step with --on-step-timeout exit (EX_SOFTWARE).</summary>
    public const int HungStepExitCode = 70;

    static StepWatchdogConfig StepWatchdog(ParsedArgs args)
    {
        double Seconds(string name) => args.GetFloat(name) is float f && f >= 0 ? f : throw new CliException($"--{name} must be a number of seconds >= 0");
        return new StepWatchdogConfig
        {
            StepTimeout = TimeSpan.FromSeconds(Seconds("step-timeout")),
            FirstShapeTimeout = TimeSpan.FromSeconds(Seconds("step-timeout-first-shape")),
            Action = args.Choice("on-step-timeout", "restart", "exit") == "exit" ? StepTimeoutAction.Exit : StepTimeoutAction.Restart,
        };
    }

    static RequestReader Requests(ParsedArgs args, WebApplication app) =>
        new(args.Flag("strict-request-fields"), app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Host.Protocol"));

    /// <summary>The queue service mode (in-process by default, or a RabbitMQ broker); null with --queue off.</summary>
    static QueueService? StartQueue(ParsedArgs args, ServerContext server, ILogger logger)
    {
        var url = args.Get("queue")!;
        if (url == "off") return null;
        var topology = QueueOptions.ToTopology(args, args.Int("queue-prefetch"));
        var transport = QueueTransports.Create(url, topology, $"pipeline-serve-{Environment.ProcessId}", m => logger.LogWarning("queue: {Message}", m));
        var store = args.Get("state-db") is { Length: > 0 } db ? new RequestStateStore(db, args.Int("state-retention"), args.Flag("state-keep-deltas")) : null;
        var hub = new StreamHub();
        if (store != null) hub.Stored = id => store.Stored(id)?.Select(e => e.Body).ToList();
        var service = new QueueService(transport, server, hub, m => logger.LogWarning("queue: {Message}", m), store: store);
        if (args.Flag("enable-log-requests") && !args.Flag("disable-log-requests"))
            service.OnExecute = id => logger.LogInformation("queue request {Id}: executing", id);
        if (store != null) logger.LogInformation("durable request state: {Path} ({Count} finished requests kept)", store.Path, store.Count);
        server.Queue = service;
        service.Start();
        logger.LogInformation("queue service: consuming '{Queue}' from {Transport} (prefetch {Prefetch}), events to exchange '{Exchange}'",
            topology.RequestQueue, transport.Description, topology.Prefetch, topology.EventsExchange);
        return service;
    }

    public static async Task<int> RunAsync(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        var engineArgs = LoraCliOptions.Apply(args, CommonOptions.ToEngineArgs(args, model));
        var loraModules = LoraCliOptions.Modules(args);
        var devices = (args.Get("devices") ?? engineArgs.Device).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var servedName = args.Get("served-model-name") ?? (model == DefaultModel.BuiltIn() ? DefaultModel.Name : model);
        int shutdownSeconds = args.Int("shutdown-timeout");
        ChatParsingOptions chatParsing;
        try { chatParsing = new ChatParsingOptions(args.Flag("enable-auto-tool-choice"), args.Get("tool-call-parser"), args.Get("reasoning-parser")).Validate(); }
        catch (ArgumentException e) { throw new CliException(e.Message); }
        var cluster = ClusterNodeOptions.From(args);
        if (cluster is { IsFront: false }) return await ClusterServe.RunWorkerAsync(args, cluster, engineArgs, devices, servedName);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Pipeline", LogLevel.Information);
        var url = $"http://{args.Get("host")}:{args.Int("port")}";
        builder.WebHost.UseUrls(url);
        ApiServer.ConfigureLimits(builder, args.GetLong("max-request-body-bytes") ?? 32L << 20);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds + 15));
        builder.Services.AddAkka(ClusterNodeOptions.SystemName, (ab, _) =>
        {
            ab.WithPipelineDispatchers();
            if (cluster != null) ab.WithPipelineCluster(cluster);
        });
        var app = builder.Build();
        Listening.EnsureFree(url);   // before loading the model: a taken port is known at once

        var resolvedDir = Pipeline.Models.Loading.ModelResolver.Resolve(model, args.Get("revision"));
        var arch = Pipeline.Models.Config.ModelConfig.Load(resolvedDir, args.Get("hf-overrides")).Architecture;
        var task = args.Choice("task", "auto", "generate", "embed", "classify", "score", "reward");
        var selection = RunnerOptions.Resolve(args, resolvedDir, arch, task);
        if (selection.Runner == RunnerType.Pooling && cluster != null)
            throw new CliException("--cluster-role serves generation models; pooling models run as a single process for now");
        if (selection.Runner == RunnerType.Pooling)
            return engineArgs.EnableLora ? throw new CliException("--enable-lora applies to generation models, not pooling ones")
                : await ServePooling(app, url, args, resolvedDir, servedName, engineArgs, selection, task);

        // Load before listening so a bad model fails fast with one clear error.
        var progress = LoadProgress.ForService(app.Logger);
        var replicas = new List<ReplicaSpec>();
        // A front-only node reads the model's config and tokenizer, not its weights: the workers run it.
        bool frontOnly = cluster is { IsWorker: false };
        foreach (var d in frontOnly ? ["cpu"] : devices)
        {
            var a = engineArgs with { Device = d };
            replicas.Add(new ReplicaSpec(frontOnly
                ? ModelContext.Load(a, weights: false)
                : LoadProgress.Load(progress, $"{LoadProgress.Label(resolvedDir)} on {d}", engineArgs.LoadFormat == "dummy" ? null : resolvedDir, () => ModelContext.Load(a)), a));
        }
        if (frontOnly) app.Logger.LogInformation("front-only node: {Model} config and tokenizer read, no weights loaded", LoadProgress.Label(resolvedDir));
        var ctx = replicas[0].Context;
        ChatPromptRenderer? chat = null;
        string? chatError = null;
        if (ctx.Tokenizer != null)
        {
            try { chat = new ChatPromptRenderer(ctx.Tokenizer, args.Get("chat-template")); }
            catch (Exception e) when (e is ArgumentException or TemplateException or IOException) { chatError = e.Message; }
        }
        else chatError = "this model has no tokenizer, so chat is unavailable; send token-id prompts to /v1/completions";

        ServerContext? server = null;
        UseRequestLog(app, args);
        app.UseHttpMetrics();
        ApiServer.UseApiConventions(app, args.Get("api-key"));
        ApiServer.Map(app, () => server);
        if (cluster != null) ClusterEndpoints.Map(app, () => server?.Engine);
        if (LoraCliOptions.RuntimeUpdatingAllowed())
            LoraEndpoints.Map(app, () => server ?? throw new ApiError(503, "the engine is still starting"));
        var servingModels = new ServingModels(servedName, engineArgs.EnableLora ? replicas.Select(r => r.Context.Lora!).ToList() : []);
        foreach (var m in loraModules)
        {
            // A bad adapter given at start stops the server with the reason, before it listens.
            try { servingModels.Load(m.Name, m.Path, m.BaseModelName); }
            catch (Pipeline.Models.Lora.LoRAException e) { throw new CliException($"--lora-modules {m.Name}: {e.Message}"); }
            app.Logger.LogInformation("LoRA adapter '{Name}' loaded from {Path}", m.Name, m.Path);
        }
        await Listening.StartAsync(app, url);
        var system = app.Services.GetRequiredService<ActorSystem>();
        var options = new PipelineOptions
        {
            IngressCapacity = Math.Max(1, args.Int("max-pending-requests")),
            MaxWaitingPerReplica = engineArgs.MaxNumSeqs,
            RejectWhenFull = true,
            Media = MediaCliOptions.From(args),
            StepWatchdog = StepWatchdog(args),
            Faults = FaultSpec.Parse(args.Get("inject-faults")) ?? FaultInjector.None,
        };
        IActorRef? workerNode = null;
        PipelineEngine engine;
        if (cluster == null) engine = LoadProgress.KvCacheSizing(progress, LoadProgress.Label(resolvedDir), () => PipelineEngine.Start(system, replicas, options));
        else
        {
            if (cluster.IsWorker) workerNode = LoadProgress.KvCacheSizing(progress, LoadProgress.Label(resolvedDir), () => ClusterServe.StartWorkerNode(system, replicas, engineArgs.MaxNumSeqs));
            engine = ClusterServe.StartFront(system, ctx, cluster, options);
            _ = ClusterSetup.JoinByDiscoveryAsync(system, cluster, app.Logger);
            app.Logger.LogInformation("cluster {Role} node {Address}; seeds {Seeds}; routing {Routing}", cluster.Role, cluster.SelfAddress,
                cluster.Seeds.Count > 0 ? string.Join(",", cluster.Seeds) : cluster.Discovery, args.Get("cluster-routing"));
        }
        engine.Health.ExitRequested += reason =>
        {
            app.Logger.LogCritical("exiting with code {Code}: {Reason} (--on-step-timeout exit)", HungStepExitCode, reason);
            // Not on the engine core's thread: the host's shutdown waits for the actor system, which waits for that actor.
            new Thread(() => Environment.Exit(HungStepExitCode)) { IsBackground = true, Name = "exit-on-hung-step" }.Start();
        };
        var metrics = new ServingMetrics(servedName, engineArgs.EnableLora ? engineArgs.MaxLoras : null);
        var ready = new ServerContext { Engine = engine, ServedModelName = servedName, Model = ctx, Models = servingModels, Chat = chat, ChatTemplateError = chatError, Metrics = metrics, Requests = Requests(args, app), ChatParsing = chatParsing };
        var queue = StartQueue(args, ready, app.Logger);
        server = ready;
        app.Logger.LogInformation("serving {Model} as '{Name}' on {Urls} ({Replicas} replica(s), max_model_len {MaxLen}, tokenizer {Tokenizer})",
            ctx.ModelDir, servedName, string.Join(",", app.Urls), replicas.Count, ctx.MaxModelLen, ctx.Tokenizer?.Source ?? "none");

        using var signals = new ShutdownSignals(app.Logger);
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            queue?.StopConsuming();
            signals.LogDraining(engine.InFlight, shutdownSeconds);
            engine.ShutdownAsync(TimeSpan.FromSeconds(shutdownSeconds), signals.StopNow).GetAwaiter().GetResult();
            workerNode?.Ask<Pipeline.Actors.Cluster.WorkerNodeActor.NodeDrained>(new Pipeline.Actors.Cluster.WorkerNodeActor.DrainNode(TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(15))
                .ContinueWith(_ => { }).GetAwaiter().GetResult();
            if (queue == null) return;
            // Requests aborted by the shutdown are put back on the queue; finished ones are acknowledged.
            queue.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            queue.Transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });
        await app.WaitForShutdownAsync();
        foreach (var r in replicas) r.Context.Dispose();
        return 0;
    }
}
