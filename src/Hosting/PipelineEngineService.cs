using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Actors.Engine;
using Pipeline.Streams;

namespace Pipeline.Hosting;

/// <summary>
/// The hosted service behind AddPipeline: on start, loads the model once per device and starts the
/// <see cref="PipelineEngine"/> on the host's actor system (Akka.Hosting's, started before it); on stop, drains
/// in-flight requests within <see cref="PipelineHostingOptions.ShutdownTimeout"/>, aborts the rest and frees the models.
/// </summary>
public sealed class PipelineEngineService(IServiceProvider services, PipelineHostingOptions options, ILogger<PipelineEngineService> logger) : IHostedService
{
    readonly List<ReplicaSpec> _replicas = [];
    PipelineEngine? _engine;

    /// <summary>The running engine; available once the host has started.</summary>
    public PipelineEngine Engine => _engine ?? throw new InvalidOperationException("the pipeline engine starts with the host: call host.StartAsync() (or run the host) first");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var devices = options.Devices.Count > 0 ? options.Devices : [options.Engine.Device];
        foreach (var device in devices)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var args = options.Engine with { Device = device };
            _replicas.Add(new ReplicaSpec(ModelContext.Load(args), args));
        }
        _engine = PipelineEngine.Start(services.GetRequiredService<ActorSystem>(), _replicas, options.Pipeline);
        logger.LogInformation("pipeline engine serving {Model} ({Replicas} replica(s), max_model_len {MaxLen})",
            _replicas[0].Context.ModelDir, _replicas.Count, _engine.MaxModelLen);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_engine != null) await _engine.ShutdownAsync(options.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
        foreach (var r in _replicas) r.Context.Dispose();
        _replicas.Clear();
    }
}
