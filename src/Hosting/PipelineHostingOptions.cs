using Pipeline.Actors.Engine;
using Pipeline.Streams;

namespace Pipeline.Hosting;

/// <summary>What <see cref="PipelineServiceCollectionExtensions.AddPipeline"/> serves: the model and engine arguments, the devices, the pipeline's limits.</summary>
public sealed class PipelineHostingOptions
{
    /// <summary>The model (a directory or a Hugging Face id in the hub cache) and the engine arguments, named as in vLLM.</summary>
    public required EngineArgs Engine { get; set; }

    /// <summary>One data-parallel replica per device (e.g. ["cuda:0", "cuda:1"]); empty: one replica on <see cref="EngineArgs.Device"/>.</summary>
    public IReadOnlyList<string> Devices { get; set; } = [];

    /// <summary>Ingress capacity, admission and back-pressure settings of the served pipeline.</summary>
    public PipelineOptions Pipeline { get; set; } = new();

    /// <summary>How long in-flight requests may take to finish when the host stops; the rest are aborted.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
