using Pipeline.Host.Cli;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Runtime;
using TorchSharp;

namespace Pipeline.Host.Commands;

/// <summary>A loaded model with its tokenizer and generation defaults, built from the common options.</summary>
public sealed class ModelSession : IDisposable
{
    public required string ModelDir { get; init; }
    public required ICausalLM Model { get; init; }
    public ITextTokenizer? Tokenizer { get; init; }
    public required GenerationConfig GenerationConfig { get; init; }
    public required bool UseGenerationConfig { get; init; }
    public required TimeSpan LoadTime { get; init; }
    public int? MaxModelLen { get; init; }

    /// <summary>EOS ids from config.json, generation_config.json and the tokenizer, together.</summary>
    public IReadOnlyCollection<int> EosTokenIds
    {
        get
        {
            var set = new HashSet<int>(Model.Config.EosTokenIds);
            set.UnionWith(GenerationConfig.EosTokenIds);
            if (Tokenizer?.EosTokenId is int t) set.Add(t);
            return set;
        }
    }

    public static ModelSession Open(string model, ParsedArgs args)
    {
        var dir = ModelResolver.Resolve(model, args.Get("revision"));
        var device = TorchRuntime.ResolveDevice(args.Get("device"), args.Get("libtorch"));
        var genMode = args.Choice("generation-config", "auto", "vllm");
        var options = new LoadOptions
        {
            Dtype = args.Choice("dtype", ModelLoader.DtypeChoices),
            LoadFormat = args.Choice("load-format", ModelLoader.LoadFormats),
            HfOverrides = args.Get("hf-overrides"),
            Seed = args.GetLong("seed") ?? 0,
        };
        ITextTokenizer? tokenizer = null;
        if (!args.Flag("skip-tokenizer-init"))
        {
            var tokDir = args.Get("tokenizer") is string t ? ModelResolver.Resolve(t) : dir;
            if (TextTokenizer.HasFiles(tokDir)) tokenizer = TextTokenizer.Load(tokDir);
            else if (args.Get("tokenizer") != null) throw new CliException($"--tokenizer {args.Get("tokenizer")}: no tokenizer files in {tokDir}");
        }
        var (m, elapsed) = ModelLoader.Load(dir, options, device);
        int? maxLen = args.GetInt("max-model-len");
        if (maxLen is < 1) throw new CliException($"--max-model-len must be positive, got {maxLen}");
        return new ModelSession
        {
            ModelDir = dir,
            Model = m,
            Tokenizer = tokenizer,
            GenerationConfig = GenerationConfig.Load(dir),
            UseGenerationConfig = genMode == "auto",
            LoadTime = elapsed,
            MaxModelLen = maxLen,
        };
    }

    public void Dispose() => Model.Dispose();
}
