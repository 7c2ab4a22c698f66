namespace Pipeline.Models.Tokenizers;

/// <summary>
/// transformers 5 rebuilds some tokenizers from their vocabulary instead of using tokenizer.json's pipeline as is, and
/// applies add_bos_token/add_eos_token from tokenizer_config.json. These adjustments reproduce what it encodes.
/// </summary>
internal static class TransformersCompat
{
    private static readonly HashSet<string> LlamaClasses = new(StringComparer.Ordinal)
    {
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
    };

    public static void Apply(TokenizerPipeline pipeline, TokenizerConfig config)
    {
        if (config.TokenizerClass is { } cls && LlamaClasses.Contains(cls) && pipeline.ModelType == "BPE" && pipeline.ByteFallback)
            RebuildLlama(pipeline, config);
        if (config.AddBosToken == true || config.AddEosToken == true)
            ApplyBosEos(pipeline, config);
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

    private static void ApplyBosEos(TokenizerPipeline pipeline, TokenizerConfig config)
    {
        int? Id(string? token)
        {
            if (token is null) return null;
            foreach (var t in pipeline.AddedTokens.Concat(config.AddedTokensDecoder))
                if (t.Content == token) return t.Id;
            return pipeline.Model.TokenToId(token);
        }
        var parts = new List<int[]?>();
        if (config.AddBosToken == true && Id(config.BosToken) is int bos) parts.Add([bos]);
        parts.Add(null);
        if (config.AddEosToken == true && Id(config.EosToken) is int eos) parts.Add([eos]);
        pipeline.PostProcessor = new TemplateProcessor(parts);
    }
}
