using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Registry;

/// <summary>
/// One supported architecture: config.json's architectures[0], the tasks it serves, and how to build it.
/// <paramref name="Decoder"/> is the decoder family, which lets --runner pooling convert the model (see <see cref="RunnerSelection"/>).
/// </summary>
public sealed record ArchitectureEntry(string Architecture, string Family, string[] Tasks, string ExampleModels,
    Func<ModelConfig, IWeightSource, ScalarType, Device, ICausalLM> Create, DecoderFamily? Decoder = null);

/// <summary>The table from architecture names to implementations (`pipeline models --supported`).</summary>
public static class ModelRegistry
{
    static readonly ArchitectureEntry[] Entries =
    [
        Decoder("LlamaForCausalLM", DecoderFamily.Llama, "meta-llama/Llama-3.1-8B-Instruct, TinyLlama"),
        Decoder("MistralForCausalLM", DecoderFamily.Mistral, "mistralai/Mistral-7B-Instruct-v0.3"),
        Decoder("Qwen2ForCausalLM", DecoderFamily.Qwen2, "Qwen/Qwen2.5-7B-Instruct"),
        Decoder("Qwen3ForCausalLM", DecoderFamily.Qwen3, "Qwen/Qwen3-8B"),
    ];

    static ArchitectureEntry Decoder(string arch, DecoderFamily family, string examples) =>
        new(arch, family.Name, ["generate"], examples, (c, w, t, d) => new LlamaForCausalLM(c, family, w, t, d), family);

    public static IReadOnlyList<ArchitectureEntry> Supported => Entries;

    public static ArchitectureEntry Get(string architecture) =>
        Entries.FirstOrDefault(e => e.Architecture == architecture)
        ?? throw new UnsupportedArchitectureException(
            $"Model architecture '{architecture}' is not supported. Supported architectures: {string.Join(", ", Entries.Select(e => e.Architecture))}.");
}

public sealed class UnsupportedArchitectureException(string message) : Exception(message);
