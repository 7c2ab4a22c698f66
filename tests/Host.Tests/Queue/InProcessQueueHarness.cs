using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;
using Pipeline.Host.Queue;
using Pipeline.Streams;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>The queue service in this process over the in-process transport and the tiny fixture model; counts executions per request id.</summary>
public sealed class InProcessQueueHarness : IAsyncDisposable
{
    readonly ActorSystem _system;
    readonly ModelContext _model;
    public PipelineEngine Engine { get; }
    public InProcessQueueTransport Transport { get; }
    public QueueService Service { get; }
    public ServerContext Server { get; }
    public ConcurrentDictionary<string, int> Executions { get; } = new();

    /// <param name="model">Another model directory (its own max_model_len) instead of the tiny llama.</param>
    public InProcessQueueHarness(ushort prefetch = 8, bool strictRequestFields = false, string? model = null)
    {
        _system = ActorSystem.Create("queue-" + Guid.NewGuid().ToString("N")[..8], ConfigurationFactory.ParseString(Dispatchers.Hocon));
        var args = new EngineArgs
        {
            Model = model ?? PipelineProcess.Fixture("llama"), Dtype = "float32", Device = "cpu", MaxModelLen = model == null ? 128 : null,
            AllowLongMaxModelLen = true, NumGpuBlocksOverride = 256, MaxNumSeqs = 64, MaxNumBatchedTokens = 256,
        };
        _model = ModelContext.Load(args);
        Engine = PipelineEngine.Start(_system, [new ReplicaSpec(_model, args)]);
        var server = new ServerContext
        {
            Engine = Engine, ServedModelName = "tiny", Model = _model, Metrics = new ServingMetrics("tiny"),
            Requests = new RequestReader(strictRequestFields, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
        };
        Transport = new InProcessQueueTransport(new QueueTopology { Prefetch = prefetch });
        Service = new QueueService(Transport, server, new StreamHub());
        Service.OnExecute = id => Executions.AddOrUpdate(id, 1, (_, c) => c + 1);
        server.Queue = Service;
        Server = server;
        Service.Start();
    }

    public Task Publish(string id, int[] prompt, int maxTokens) =>
        Transport.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new { request_id = id, prompt, max_tokens = maxTokens, temperature = 0, ignore_eos = true }), QueueProperties.Default, default);

    /// <summary>Waits until no request message is waiting or unsettled.</summary>
    public async Task Drained(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Transport.CountOf(Transport.Topology.RequestQueue) + Transport.UnsettledOf(Transport.Topology.RequestQueue) > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the request queue did not drain");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Service.StopAsync(TimeSpan.FromSeconds(5));
        await Engine.ShutdownAsync(TimeSpan.FromSeconds(5));
        await _system.Terminate();
        _model.Dispose();
    }
}
