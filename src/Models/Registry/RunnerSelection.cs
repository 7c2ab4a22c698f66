namespace Pipeline.Models.Registry;

/// <summary>vLLM's --runner: generate text, or pool hidden states (embed, classify, score, reward).</summary>
public enum RunnerType { Generate, Pooling }

/// <summary>vLLM's --convert: how a model without a pooling implementation becomes one (none: it has one, or generates).</summary>
public enum ConvertType { None, Embed, Classify, Reward }

/// <summary>
/// How a model runs, resolved from its architecture and --runner / --convert as vLLM does: runner auto picks pooling
/// for pooling architectures and sentence-transformers models, generate otherwise; a pooling runner on a causal LM
/// converts it (embed unless --convert says otherwise).
/// </summary>
public sealed record RunnerSelection(RunnerType Runner, ConvertType Convert, ArchitectureEntry? Generative, ArchitectureEntry? Pooling)
{
    public static readonly string[] RunnerChoices = ["auto", "generate", "pooling"];
    public static readonly string[] ConvertChoices = ["auto", "none", "embed", "classify", "reward"];

    /// <summary>The tasks the model serves under this selection.</summary>
    public string[] Tasks => Runner == RunnerType.Generate ? Generative!.Tasks : Pooling!.Tasks;

    /// <param name="sentenceTransformers">The model directory has a sentence-transformers modules.json (vLLM then defaults to pooling).</param>
    public static RunnerSelection Resolve(string architecture, string runner = "auto", string convert = "auto", bool sentenceTransformers = false)
    {
        if (!RunnerChoices.Contains(runner)) throw new ArgumentException($"--runner must be one of {string.Join(", ", RunnerChoices)}, got '{runner}'");
        if (!ConvertChoices.Contains(convert)) throw new ArgumentException($"--convert must be one of {string.Join(", ", ConvertChoices)}, got '{convert}'");
        var entry = ModelRegistry.Find(architecture) ?? throw UnsupportedArchitectureException.For(architecture);
        var pooling = entry.Pools ? entry : null;
        var generative = entry.Generates ? entry : null;
        var convertType = convert switch
        {
            "embed" => ConvertType.Embed,
            "classify" => ConvertType.Classify,
            "reward" => ConvertType.Reward,
            "none" => ConvertType.None,
            _ => (ConvertType?)null,
        };
        var runnerType = runner switch
        {
            "generate" => RunnerType.Generate,
            "pooling" => RunnerType.Pooling,
            _ => pooling != null || sentenceTransformers || convertType is ConvertType.Embed or ConvertType.Classify or ConvertType.Reward
                ? RunnerType.Pooling : RunnerType.Generate,
        };

        if (runnerType == RunnerType.Generate)
        {
            if (generative == null)
                throw new ArgumentException($"--runner generate: {architecture} is a pooling model ({string.Join(", ", pooling!.Tasks)}); use --runner pooling or auto");
            if (convertType is not (null or ConvertType.None))
                throw new ArgumentException($"--convert {convert} turns a model into a pooling model and needs --runner pooling (or auto), not --runner generate");
            return new RunnerSelection(RunnerType.Generate, ConvertType.None, generative, null);
        }
        if (pooling != null)
        {
            if (convertType is not (null or ConvertType.None))
                throw new ArgumentException($"--convert {convert}: {architecture} is already a pooling model ({string.Join(", ", pooling.Tasks)}); leave --convert out");
            return new RunnerSelection(RunnerType.Pooling, ConvertType.None, null, pooling);
        }
        if (!generative!.Convertible)
            throw new ArgumentException($"--runner pooling: {architecture} has no pooling conversion");
        if (convertType == ConvertType.None)
            throw new ArgumentException($"--runner pooling with --convert none: {architecture} is not a pooling model; use --convert embed, classify or reward");
        var type = convertType ?? ConvertType.Embed;
        return new RunnerSelection(RunnerType.Pooling, type, null, ModelRegistry.Converted(generative, type));
    }
}
