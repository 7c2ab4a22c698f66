namespace Pipeline.Models.Tokenizers;

/// <summary>
/// transformers 5 rebuilds some tokenizers from their vocabulary instead of using tokenizer.json's pipeline as is.
/// These adjustments reproduce what it encodes. (It keeps tokenizer.json's post-processor: add_bos_token and
/// add_eos_token in tokenizer_config.json do not change the ids, as recorded in the llama2 config-variant fixtures.)
/// </summary>
internal static class TransformersCompat
{
    private static readonly HashSet<string> LlamaClasses = new(StringComparer.Ordinal)
    {
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
    };

    private static readonly HashSet<string> ByteLevelClasses = new(StringComparer.Ordinal)
    {
        "GPT2Tokenizer", "GPT2TokenizerFast", "Qwen2Tokenizer", "Qwen2TokenizerFast",
    };

    public static void Apply(TokenizerPipeline pipeline, TokenizerConfig config)
    {
        if (config.TokenizerClass is { } bl && ByteLevelClasses.Contains(bl) && config.AddPrefixSpace is bool prefix && pipeline.PreTokenizer is not null)
            pipeline.PreTokenizer = WithPrefixSpace(pipeline.PreTokenizer, prefix);
        if (config.TokenizerClass is { } cls && LlamaClasses.Contains(cls) && pipeline.ModelType == "BPE" && pipeline.ByteFallback)
            RebuildLlama(pipeline, config);
    }

    /// <summary>LlamaTokenizer: no normalizer, Metaspace pre-tokenizer without splitting, SentencePiece-style decoder.</summary>
    private static void RebuildLlama(TokenizerPipeline pipeline, TokenizerConfig config)
    {
        bool addPrefixSpace = config.AddPrefixSpace ?? true;
        string scheme = !addPrefixSpace ? "never" : config.Legacy == false ? "first" : "always";
        pipeline.Normalizer = null;
        pipeline.PreTokenizer = new MetaspacePreTokenizer('\u2581', scheme, split: false);
        var steps = new List<IDecoder>
        {
            new ReplaceDecoder(OnigurumaRegex.Literal("\u2581"), " "),
            new ByteFallbackDecoder(),
            new FuseDecoder(),
        };
        if (addPrefixSpace) steps.Add(new StripDecoder(' ', 1, 0));
        pipeline.Decoder = new SequenceDecoder(steps);
    }

    /// <summary>
    /// GPT2Tokenizer and Qwen2Tokenizer take add_prefix_space from tokenizer_config.json for their ByteLevel step
    /// (which then prefixes every pre-token that lacks a leading space, as the tokenizers library does).
    /// </summary>
    private static IPreTokenizer WithPrefixSpace(IPreTokenizer pre, bool addPrefixSpace) => pre switch
    {
        ByteLevelPreTokenizer b => new ByteLevelPreTokenizer(addPrefixSpace, b.UseRegex),
        SequencePreTokenizer s => new SequencePreTokenizer(s.Steps.Select(p => WithPrefixSpace(p, addPrefixSpace)).ToList()),
        _ => pre,
    };
}
