using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Registry;

/// <summary>Builds a pooling model from its config and weights (a pooling registry entry's constructor).</summary>
public delegate IPoolingModel PoolingModelFactory(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device);

/// <summary>
/// What a <see cref="IModelPlugin"/> registers: causal LMs (usually a <see cref="DecoderForCausalLM"/> subclass) and
/// pooling models, each under the architecture name config.json's <c>architectures</c> gives. Nothing takes effect
/// until the whole plugin has registered without error.
/// </summary>
public sealed class ModelRegistryBuilder
{
    static readonly string[] PoolingTasks = ["embed", "classify", "score", "reward"];

    internal List<ArchitectureEntry> Entries { get; } = [];

    /// <param name="architecture">The name in config.json's architectures, e.g. "MyModelForCausalLM".</param>
    /// <param name="family">config.json's model_type, shown by `pipeline models --supported`.</param>
    /// <param name="convertible">Whether --runner pooling may turn it into a pooling model.</param>
    public ModelRegistryBuilder AddCausalLM(string architecture, DecoderFactory create, string family = "", string exampleModels = "", bool convertible = true)
    {
        Check(architecture);
        ArgumentNullException.ThrowIfNull(create);
        Entries.Add(new ArchitectureEntry(architecture, family, ["generate"], exampleModels, create, convertible));
        return this;
    }

    /// <param name="tasks">Any of embed, classify, score, reward.</param>
    public ModelRegistryBuilder AddPoolingModel(string architecture, PoolingModelFactory create, IReadOnlyList<string> tasks, string family = "", string exampleModels = "")
    {
        Check(architecture);
        ArgumentNullException.ThrowIfNull(create);
        if (tasks.Count == 0 || tasks.Any(t => !PoolingTasks.Contains(t)))
            throw new ModelPluginException($"{architecture}: pooling tasks must be some of {string.Join(", ", PoolingTasks)}, got [{string.Join(", ", tasks)}]");
        Entries.Add(new ArchitectureEntry(architecture, family, [.. tasks], exampleModels, Create: null, Convertible: false) { CreatePooling = create });
        return this;
    }

    void Check(string architecture)
    {
        if (string.IsNullOrWhiteSpace(architecture) || architecture.Any(char.IsWhiteSpace))
            throw new ModelPluginException($"architecture name '{architecture}' must be one word, as in config.json's architectures");
        if (Entries.Any(e => e.Architecture == architecture))
            throw new ModelPluginException($"{architecture} is registered twice");
    }
}

/// <summary>A model plugin could not be loaded or registered: the message names the plugin and the problem.</summary>
public sealed class ModelPluginException(string message, Exception? inner = null) : Exception(message, inner);
