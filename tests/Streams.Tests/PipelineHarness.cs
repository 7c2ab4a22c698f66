using Akka.Actor;
using Akka.Configuration;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Streams.Tests;

/// <summary>A pipeline over a tiny fixture model on CPU, with its own actor system.</summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    public ActorSystem System { get; }
    public PipelineEngine Engine { get; }
    public List<ModelContext> Contexts { get; } = new();

    public PipelineHarness(string variant = "llama", int replicas = 1, PipelineOptions? options = null, int blocks = 256, int maxNumSeqs = 64, int budget = 256)
    {
        System = ActorSystem.Create("test-" + Guid.NewGuid().ToString("N")[..8], ConfigurationFactory.ParseString(Dispatchers.Hocon));
        var specs = new List<ReplicaSpec>();
        for (int i = 0; i < replicas; i++)
        {
            var args = Args(variant, blocks, maxNumSeqs, budget);
            var ctx = ModelContext.Load(args);
            Contexts.Add(ctx);
            specs.Add(new ReplicaSpec(ctx, args));
        }
        Engine = PipelineEngine.Start(System, specs, options);
    }

    public static EngineArgs Args(string variant, int blocks = 256, int maxNumSeqs = 64, int budget = 256) => new()
    {
        Model = Path.IsPathRooted(variant) ? variant : ModelFixture.Dir(variant),
        Dtype = "float32",
        Device = "cpu",
        MaxModelLen = 128,
        AllowLongMaxModelLen = true,
        NumGpuBlocksOverride = blocks,
        MaxNumSeqs = maxNumSeqs,
        MaxNumBatchedTokens = budget,
    };

    public async ValueTask DisposeAsync()
    {
        await Engine.ShutdownAsync(TimeSpan.FromSeconds(5));
        await System.Terminate();
        foreach (var c in Contexts) c.Dispose();
    }
}
