using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Registry;

/// <summary>
/// One supported architecture: config.json's architectures[0], the tasks it serves, and how to build it.
/// <paramref name="Convertible"/>: --runner pooling can turn it into a pooling model (see <see cref="RunnerSelection"/>).
/// </summary>
public sealed record ArchitectureEntry(string Architecture, string Family, string[] Tasks, string ExampleModels,
    DecoderFactory Create, bool Convertible = true);

/// <summary>The table from architecture names to implementations (`pipeline models --supported`).</summary>
public static class ModelRegistry
{
    static readonly ArchitectureEntry[] Entries =
    [
        Decoder("LlamaForCausalLM", "llama", "meta-llama/Llama-3.1-8B-Instruct, TinyLlama", (c, w, t, d) => new LlamaForCausalLM(c, w, t, d)),
        Decoder("MistralForCausalLM", "mistral", "mistralai/Mistral-7B-Instruct-v0.3", (c, w, t, d) => new LlamaForCausalLM(c, w, t, d)),
        Decoder("Qwen2ForCausalLM", "qwen2", "Qwen/Qwen2.5-7B-Instruct", (c, w, t, d) => new Qwen2ForCausalLM(c, w, t, d)),
        Decoder("Qwen3ForCausalLM", "qwen3", "Qwen/Qwen3-8B", (c, w, t, d) => new Qwen3ForCausalLM(c, w, t, d)),
        Decoder("GemmaForCausalLM", "gemma", "google/gemma-7b, google/gemma-2b-it", (c, w, t, d) => new GemmaForCausalLM(c, w, t, d)),
    ];

    static ArchitectureEntry Decoder(string arch, string family, string examples, DecoderFactory create) =>
        new(arch, family, ["generate"], examples, create);

    public static IReadOnlyList<ArchitectureEntry> Supported => Entries;

    public static ArchitectureEntry Get(string architecture) =>
        Entries.FirstOrDefault(e => e.Architecture == architecture)
        ?? throw new UnsupportedArchitectureException(
            $"Model architecture '{architecture}' is not supported. Supported architectures: {string.Join(", ", Entries.Select(e => e.Architecture))}.");
}

public sealed class UnsupportedArchitectureException(string message) : Exception(message);
