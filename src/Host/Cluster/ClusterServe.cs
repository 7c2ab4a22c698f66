using Akka.Actor;
using Akka.Hosting;
using Pipeline.Actors.Cluster;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Hosting;
using Pipeline.Host.Cli;
using Pipeline.Host.Http;
using Pipeline.Host.Progress;
using Pipeline.Streams;
using Prometheus;

namespace Pipeline.Host.Cluster;

/// <summary>The cluster roles of `pipeline serve`: a worker node (engine cores only), and the engine of a front node.</summary>
public static class ClusterServe
{
    /// <summary>The worker side of a node: one <see cref="WorkerReplicaActor"/> per loaded replica under /user/pipeline-worker.</summary>
    public static IActorRef StartWorkerNode(ActorSystem system, IReadOnlyList<ReplicaSpec> replicas, int maxWaiting)
    {
        var setups = replicas.Select((r, i) =>
        {
            var config = EngineBuilder.SchedulerConfigFor(r.Context, r.Args);
            var runner = PipelineEngine.RunnerFactory(r, config);
            return new WorkerNodeActor.ReplicaSetup(r.Args.Device, config.MaxNumSeqs + maxWaiting,
                self => EngineCoreActor.Props(i, config, runner, self, self, maxWaiting, FaultInjector.None));
        }).ToList();
        return system.ActorOf(WorkerNodeActor.Props(setups), ClusterRouterActor.WorkerActorName);
    }

    /// <summary>A front node's engine: ingress, tokenizer and detokenizer here, admission by the cluster router.</summary>
    public static PipelineEngine StartFront(ActorSystem system, ModelContext context, ClusterNodeOptions o, PipelineOptions options) =>
        PipelineEngine.StartFront(system, context, detokenizer => ClusterRouterActor.Props(detokenizer, o.Router), options);

    /// <summary>`pipeline serve --cluster-role worker`: loads the replicas, joins the cluster, serves front nodes until SIGTERM, then leaves gracefully.</summary>
    public static async Task<int> RunWorkerAsync(ParsedArgs args, ClusterNodeOptions o, EngineArgs engineArgs, IReadOnlyList<string> devices, string servedName)
    {
        bool http = args.Has("port");
        var url = $"http://{args.Get("host")}:{args.Int("port")}";
        int shutdownSeconds = args.Int("shutdown-timeout");
        IHost host;
        WebApplication? web = null;
        if (http)
        {
            var b = WebApplication.CreateSlimBuilder();
            Configure(b.Logging, b.Services, o, shutdownSeconds);
            b.WebHost.UseUrls(url);
            host = web = b.Build();
            Listening.EnsureFree(url);
        }
        else
        {
            var b = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
            Configure(b.Logging, b.Services, o, shutdownSeconds);
            host = b.Build();
        }
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Host.Cluster");
        var progress = LoadProgress.ForService(logger);
        var replicas = new List<ReplicaSpec>();
        foreach (var d in devices)
        {
            var a = engineArgs with { Device = d };
            replicas.Add(new ReplicaSpec(LoadProgress.Load(progress, $"{LoadProgress.Label(engineArgs.Model)} on {d}", null, () => ModelContext.Load(a)), a));
        }
        IActorRef? node = null;
        var metrics = new ServingMetrics(servedName);
        if (web != null)
        {
            web.MapGet("/health", http => { http.Response.StatusCode = node == null ? 503 : 200; return Task.CompletedTask; });
            web.MapGet("/metrics", async http =>
            {
                http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                if (node != null)
                {
                    metrics.Refresh(await node.Ask<ReplicaStats[]>(new GetStats(), TimeSpan.FromSeconds(10)));
                    await http.Response.WriteAsync(metrics.Registry.Export());
                }
                await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted);
            });
            await Listening.StartAsync(web, url);
        }
        else await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        node = StartWorkerNode(system, replicas, engineArgs.MaxNumSeqs);
        _ = ClusterSetup.JoinByDiscoveryAsync(system, o, logger);
        logger.LogInformation("cluster worker {Address} serving {Model} ({Replicas} replica(s) on {Devices}); seeds {Seeds}",
            o.SelfAddress, replicas[0].Context.ModelDir, replicas.Count, string.Join(",", devices), o.Seeds.Count > 0 ? string.Join(",", o.Seeds) : o.Discovery);

        using var signals = new ShutdownSignals(logger);
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() =>
        {
            logger.LogInformation("leaving the cluster: no new requests; running ones finish (up to {Timeout} s), then the rest go back to their front nodes", shutdownSeconds);
            var drain = node.Ask<WorkerNodeActor.NodeDrained>(new WorkerNodeActor.DrainNode(TimeSpan.FromSeconds(shutdownSeconds)), TimeSpan.FromSeconds(shutdownSeconds + 10));
            Task.WhenAny(drain, Task.Delay(Timeout.Infinite, signals.StopNow)).GetAwaiter().GetResult();
            if (drain.IsCompletedSuccessfully)
                logger.LogInformation(drain.Result.HandedBack ? "drain deadline: requests still running were handed back" : "drained: every request finished");
        });
        await host.WaitForShutdownAsync();
        foreach (var r in replicas) r.Context.Dispose();
        return 0;
    }

    static void Configure(ILoggingBuilder logging, IServiceCollection services, ClusterNodeOptions o, int shutdownSeconds)
    {
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddFilter("Pipeline", LogLevel.Information);
        services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds + 15));
        services.AddAkka(ClusterNodeOptions.SystemName, (ab, _) => ab.WithPipelineDispatchers().WithPipelineCluster(o));
    }
}
