using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Runtime;
using Pipeline.Models.StructuredOutputs;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Engine;

/// <summary>A loaded model with its tokenizer and generation defaults; what an engine is built around.</summary>
public sealed class ModelContext : IDisposable
{
    public required string ModelDir { get; init; }
    public required ICausalLM Model { get; init; }
    public HfTokenizer? Tokenizer { get; init; }
    public required GenerationConfig GenerationConfig { get; init; }
    public required bool UseGenerationConfig { get; init; }
    public required TimeSpan LoadTime { get; init; }
    public required int MaxModelLen { get; init; }
    /// <summary>The model's LoRA adapters (GPU slots, CPU cache) with --enable-lora; null without.</summary>
    public Pipeline.Models.Lora.LoRAModelManager? Lora { get; init; }

    /// <summary>The tokenizer's bytes per token for structured outputs, decoded once on first use (null without a tokenizer).</summary>
    public Lazy<TokenizerVocab?> StructuredOutputsVocab => _vocab ??= new Lazy<TokenizerVocab?>(() =>
        Tokenizer == null ? null : TokenizerVocabs.From(Tokenizer, EosTokenIds, Model.Config.VocabSize));
    Lazy<TokenizerVocab?>? _vocab;

    /// <summary>EOS ids from config.json, generation_config.json and the tokenizer, together.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>
    /// Loads the model with its tokenizer and generation defaults; with <paramref name="weights"/> false only its config
    /// (a front-only cluster node: <see cref="ConfigOnlyModel"/>), after checking the architecture generates.
    /// </summary>
    public static ModelContext Load(EngineArgs args, bool weights = true)
    {
        Pipeline.Models.Registry.ModelPlugins.Load([.. args.ModelPlugins, .. Pipeline.Models.Registry.ModelPlugins.FromEnvironment()]);
        var dir = ModelResolver.Resolve(args.Model, args.Revision);
        var device = TorchRuntime.ResolveDevice(args.Device, args.LibTorch);
        if (args.GenerationConfig is not ("auto" or "vllm"))
            throw new ArgumentException($"--generation-config must be auto or vllm, got '{args.GenerationConfig}'");
        HfTokenizer? tokenizer = null;
        if (!args.SkipTokenizerInit)
        {
            var tokDir = args.Tokenizer is string t ? ModelResolver.Resolve(t) : dir;
            if (HasTokenizerFiles(tokDir)) tokenizer = HfTokenizer.Load(tokDir);
            else if (args.Tokenizer != null) throw new ArgumentException($"--tokenizer {args.Tokenizer}: no tokenizer files in {tokDir}");
        }
        var gen = GenerationConfig.Load(dir);
        var (model, elapsed) = weights
            ? ModelLoader.Load(dir, new LoadOptions { Dtype = args.Dtype, LoadFormat = args.LoadFormat, HfOverrides = args.HfOverrides, Seed = args.Seed }, device)
            : ConfigOnly(dir, args, device);
        try
        {
            int derived = model.Config.DerivedMaxModelLen;
            int maxLen = args.MaxModelLen ?? derived;
            if (maxLen < 2) throw new ArgumentException($"--max-model-len must be at least 2, got {maxLen}");
            if (maxLen > derived && !args.AllowLongMaxModelLen)
                throw new ArgumentException($"--max-model-len {maxLen} is longer than the model supports ({derived}, from max_position_embeddings and rope scaling in config.json)");
            var eos = new List<int>(model.Config.EosTokenIds);
            foreach (var id in gen.EosTokenIds) if (!eos.Contains(id)) eos.Add(id);
            if (tokenizer?.EosTokenId is int te && !eos.Contains(te)) eos.Add(te);
            var lora = args.LoraConfig is { } lc ? new Pipeline.Models.Lora.LoRAModelManager(model, lc) : null;
            return new ModelContext
            {
                Lora = lora,
                ModelDir = dir, Model = model, Tokenizer = tokenizer, GenerationConfig = gen,
                UseGenerationConfig = args.GenerationConfig == "auto", LoadTime = elapsed, MaxModelLen = maxLen, EosTokenIds = eos,
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static (ICausalLM, TimeSpan) ConfigOnly(string dir, EngineArgs args, TorchSharp.torch.Device device)
    {
        var config = ModelConfig.Load(dir, args.HfOverrides);
        _ = Pipeline.Models.Registry.ModelRegistry.Get(config.Architecture).CausalLM;   // an unknown or pooling-only architecture fails here, as it would on a worker
        return (new ConfigOnlyModel(config, ModelLoader.ResolveDtype(args.Dtype, config.TorchDtype, device)), TimeSpan.Zero);
    }

    public static bool HasTokenizerFiles(string dir) => HfTokenizer.HasFiles(dir);

    public void Dispose()
    {
        Lora?.Dispose();
        Model.Dispose();
    }
}
