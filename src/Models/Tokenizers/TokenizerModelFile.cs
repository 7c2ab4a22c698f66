namespace Pipeline.Models.Tokenizers;

/// <summary>
/// Tokenizers of checkpoints without tokenizer.json, read through Microsoft.ML.Tokenizers: a SentencePiece
/// tokenizer.model (BPE or Unigram, byte fallback), or a tiktoken vocabulary (*.tiktoken, or a tokenizer.model in
/// that text format as Llama 3's original one). Special tokens come from tokenizer_config.json (and, for Hunyuan's and
/// Qwen 1's remote tokenizers, from <see cref="RemoteTiktokenTokenizer"/>); bos/eos are added as add_bos_token /
/// add_eos_token say (defaults: bos when the model has one, eos for T5's tokenizer class).
/// </summary>
internal static class TokenizerModelFile
{
    /// <summary>The file a directory's tokenizer would be read from this way, or null.</summary>
    public static string? Find(string dir)
    {
        var model = Path.Combine(dir, "tokenizer.model");
        if (File.Exists(model)) return model;
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.tiktoken").Order(StringComparer.Ordinal).FirstOrDefault() : null;
    }

    public static (TokenizerPipeline Pipeline, string Source) Load(string path, TokenizerConfig config) =>
        path.EndsWith(".tiktoken", StringComparison.Ordinal) || TiktokenModel.IsTiktokenFile(path) ? LoadTiktoken(path, config) : LoadSentencePiece(path, config);

    static (TokenizerPipeline, string) LoadSentencePiece(string path, TokenizerConfig config)
    {
        // transformers' LlamaTokenizer and T5Tokenizer default legacy to true (a dummy prefix before every run of text).
        var model = SentencePieceModel.Load(path, legacy: config.Legacy ?? true);
        var pipeline = new TokenizerPipeline { Model = model, ModelType = model.Kind, ByteFallback = model.ByteFallback };
        AddSpecials(pipeline, model, config, [config.BosToken ?? model.BosToken, config.EosToken ?? model.EosToken, config.UnkToken ?? model.UnkToken, config.PadToken]);
        string? bos = config.BosToken ?? model.BosToken, eos = config.EosToken ?? model.EosToken;
        bool t5 = config.TokenizerClass?.StartsWith("T5", StringComparison.Ordinal) == true;
        pipeline.PostProcessor = Template(model, config.AddBosToken ?? (bos != null && !t5) ? bos : null, config.AddEosToken ?? t5 ? eos : null);
        var steps = new List<IDecoder> { new ReplaceDecoder(OnigurumaRegex.Literal("\u2581"), " "), new ByteFallbackDecoder(), new FuseDecoder() };
        if (model.AddDummyPrefix) steps.Add(new StripDecoder(' ', 1, 0));
        pipeline.Decoder = new SequenceDecoder(steps);
        return (pipeline, $"{Path.GetFileName(path)} (SentencePiece {model.Kind}{(model.ByteFallback ? ", byte fallback" : "")}, Microsoft.ML.Tokenizers)");
    }

    static (TokenizerPipeline, string) LoadTiktoken(string path, TokenizerConfig config)
    {
        var remote = RemoteTiktokenTokenizer.For(config.TokenizerClass, Path.GetFileName(path));
        var model = TiktokenModel.Load(path, config.PatStr ?? remote?.Pattern);
        var pipeline = new TokenizerPipeline { Model = model, ModelType = "BPE", Decoder = new ByteLevelDecoder() };
        if (remote != null)
        {
            pipeline.Normalizer = new UnicodeNormalizer(System.Text.NormalizationForm.FormC);
            int next = model.Vocab.Count();
            foreach (var name in remote.SpecialTokens)
            {
                int id = next++;
                if (config.AddedTokensDecoder.All(t => t.Content != name && t.Id != id))
                    pipeline.AddedTokens.Add(new AddedToken(id, name, Special: true, LStrip: false, RStrip: false, SingleWord: false, Normalized: false));
            }
        }
        // Special tokens sit after the ranks; tokenizer_config.json's added_tokens_decoder gives their ids.
        pipeline.PostProcessor = config.AddBosToken == true && config.BosToken is string bos && config.AddedTokensDecoder.FirstOrDefault(t => t.Content == bos) is { } b
            ? new TemplateProcessor([new TemplatePiece([b.Id], null, 0), new TemplatePiece(null, "A", 0)], null)
            : null;
        string how = config.PatStr != null ? ", pat_str from tokenizer_config.json" : remote != null ? $", {remote.Name}'s pattern and special tokens" : "";
        return (pipeline, $"{Path.GetFileName(path)} (tiktoken{how}, Microsoft.ML.Tokenizers)");
    }

    /// <summary>Control tokens that tokenizer_config.json does not list are still matched in text, as transformers does.</summary>
    static void AddSpecials(TokenizerPipeline pipeline, ITokenizerModel model, TokenizerConfig config, IEnumerable<string?> names)
    {
        foreach (var name in names.Distinct())
            if (name != null && config.AddedTokensDecoder.All(t => t.Content != name) && model.TokenToId(name) is int id)
                pipeline.AddedTokens.Add(new AddedToken(id, name, Special: true, LStrip: false, RStrip: false, SingleWord: false, Normalized: false));
    }

    static IPostProcessor? Template(ITokenizerModel model, string? bos, string? eos)
    {
        var pieces = new List<TemplatePiece>();
        if (bos != null && model.TokenToId(bos) is int b) pieces.Add(new TemplatePiece([b], null, 0));
        pieces.Add(new TemplatePiece(null, "A", 0));
        if (eos != null && model.TokenToId(eos) is int e) pieces.Add(new TemplatePiece([e], null, 0));
        return pieces.Count == 1 ? null : new TemplateProcessor(pieces, null);
    }
}
