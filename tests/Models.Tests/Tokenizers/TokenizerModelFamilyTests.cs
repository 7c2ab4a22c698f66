using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using Pipeline.Models.Tokenizers;
using TorchSharp;

namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>
/// The supported families whose checkpoints ship only a SentencePiece tokenizer.model (Llama 2 / LLaMA / Yi,
/// Mistral v0.1, Mixtral, Gemma 1-3, Phi-3, Persimmon, Nemotron, ERNIE 4.5) or a tiktoken vocabulary (Hunyuan's
/// hy.tiktoken, Llama 3's original tiktoken tokenizer.model): each tiny model fixture, copied with the tokenizer.model
/// or tiktoken fixture and a tokenizer_config.json of the family's class, loads with that tokenizer, gives
/// sentencepiece's / tiktoken's ids (tests/fixtures/tokenizers-sp, recorded on the GPU machine), and generates from them.
/// </summary>
public sealed class TokenizerModelFamilyTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("tokfamily").FullName;

    static string SpDir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers-sp", name);

    public static TheoryData<string, string, string, bool?> Families() => new()
    {
        // fixture, tokenizer_class, tokenizer file, add_bos_token (null: not in the config, the class's default)
        { "llama", "LlamaTokenizer", "tokenizer.model", true },
        { "mistral-slidingwindow", "LlamaTokenizer", "tokenizer.model", true },
        { "mixtral-moe", "LlamaTokenizer", "tokenizer.model", true },
        { "gemma", "GemmaTokenizer", "tokenizer.model", true },
        { "gemma2-softcap-sliding", "GemmaTokenizer", "tokenizer.model", true },
        { "gemma3-text", "GemmaTokenizer", "tokenizer.model", null },
        { "phi3-partialrotary", "LlamaTokenizer", "tokenizer.model", false },
        { "persimmon", "LlamaTokenizer", "tokenizer.model", null },
        { "nemotron", "LlamaTokenizer", "tokenizer.model", true },
        { "ernie4_5", "Ernie4_5Tokenizer", "tokenizer.model", false },
        { "ernie4_5_moe", "Ernie4_5Tokenizer", "tokenizer.model", false },
        { "hunyuan-dense", "HYTokenizer", "hy.tiktoken", null },   // as Hunyuan ships it: no pat_str, no added_tokens_decoder
        { "hunyuan-dense-alpha", "HYTokenizer", "hy.tiktoken", null },
        { "hunyuan-moe", "HYTokenizer", "hy.tiktoken", null },
        { "llama-gqa-tied-llama3rope", "PreTrainedTokenizerFast", "tokenizer.model", null },   // Llama 3's original: tiktoken text as tokenizer.model
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void FamilyLoadsWithItsTokenizerModelAndGenerates(string fixture, string tokenizerClass, string file, bool? addBos)
    {
        bool tiktoken = file.EndsWith(".tiktoken", StringComparison.Ordinal) || tokenizerClass == "PreTrainedTokenizerFast";
        bool hunyuan = tokenizerClass == "HYTokenizer";
        var dir = ModelDirWithTokenizer(fixture, tokenizerClass, file, addBos, tiktoken, hunyuan);

        Assert.True(HfTokenizer.HasFiles(dir));
        var tok = HfTokenizer.Load(dir);
        Assert.StartsWith(hunyuan ? $"{file} (tiktoken, HYTokenizer's pattern and special tokens" : tiktoken ? $"{file} (tiktoken" : $"{file} (SentencePiece BPE, byte fallback", tok.Source);

        // Ids where the reference library and the checkpoint's settings say what they must be.
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            int? bos = !tiktoken && (addBos ?? true) ? tok.BosTokenId : null;
            int[]? prompt = null;
            int compared = 0;
            foreach (var (text, reference) in hunyuan ? HunyuanIds() : ReferenceIds(tiktoken))
            {
                var expected = bos is int b ? [b, .. reference] : reference;
                Assert.Equal(expected, tok.Encode(text));
                compared++;
                if (prompt == null && expected.Length >= 4 && expected.All(id => id < model.Config.VocabSize)) prompt = expected;
            }
            Assert.True(compared >= 10, $"only {compared} strings compared");
            Assert.NotNull(prompt);

            var result = new BatchGenerator(model, maxModelLen: 64).Generate([prompt], new SamplingParams { Temperature = 0, MaxTokens = 4, IgnoreEos = true }, [])[0];
            Assert.Equal(4, result.TokenIds.Count);
            Assert.NotNull(tok.Decode([.. prompt, .. result.TokenIds]));
        }
    }

    [Fact]
    public void TiktokenOnlyDirectoryCountsAsHavingTokenizerFiles()
    {
        // The engine and `pipeline serve` asked for tokenizer.json / vocab / tokenizer.model and skipped *.tiktoken.
        var dir = Directory.CreateDirectory(Path.Combine(_tmp, "qwen-v1-like")).FullName;
        File.Copy(Path.Combine(SpDir("tiktoken_bpe"), "tiny.tiktoken"), Path.Combine(dir, "qwen.tiktoken"));
        Assert.True(HfTokenizer.HasFiles(dir));
        Assert.False(HfTokenizer.HasFiles(Directory.CreateDirectory(Path.Combine(_tmp, "none")).FullName));
    }

    string ModelDirWithTokenizer(string fixture, string tokenizerClass, string file, bool? addBos, bool tiktoken, bool hunyuan)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_tmp, fixture)).FullName;
        foreach (var f in Directory.GetFiles(ModelFixture.Dir(fixture)))
            if (Path.GetFileName(f) is not ("tokenizer.json" or "tokenizer_config.json" or "expected.json"))
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        Assert.False(File.Exists(Path.Combine(dir, "tokenizer.json")));
        var src = SpDir(tiktoken ? "tiktoken_bpe" : "sp_bpe");
        File.Copy(Path.Combine(src, tiktoken ? "tiny.tiktoken" : "tokenizer.model"), Path.Combine(dir, file));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "tokenizer_config.json")))!.AsObject();
        config["tokenizer_class"] = tokenizerClass;
        config.Remove("add_bos_token");
        if (addBos is bool b) config["add_bos_token"] = b;
        if (hunyuan) config = new JsonObject { ["tokenizer_class"] = tokenizerClass, ["eos_token"] = "<|eos|>" };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        return dir;
    }

    /// <summary>Every string (special tokens too) with tiktoken's ids run as Hunyuan's HYTokenizer runs it (GPU machine).</summary>
    static IEnumerable<(string Text, int[] Ids)> HunyuanIds()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(SpDir("tiktoken_bpe"), "transformers_ids.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("tiktoken_hy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray())).ToList();
    }

    /// <summary>Strings without special tokens in them, with sentencepiece's or tiktoken's own ids.</summary>
    static IEnumerable<(string Text, int[] Ids)> ReferenceIds(bool tiktoken)
    {
        var path = Path.Combine(SpDir(tiktoken ? "tiktoken_bpe" : "sp_bpe"), "expected.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var list = new List<(string, int[])>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            if (text.Contains('<')) continue;
            var ids = c.GetProperty(tiktoken ? "tiktoken_ids" : "sp_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            list.Add((text, ids));
        }
        return list;
    }

    public void Dispose()
    {
        try { Directory.Delete(_tmp, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Hunyuan's and Qwen 1's remote tiktoken tokenizers: pattern and special tokens from their Python files.</summary>
public sealed class RemoteTiktokenTokenizerTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("remotetik").FullName;

    string Dir(string file, string? tokenizerClass)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_tmp, Guid.NewGuid().ToString("n"))).FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers-sp", "tiktoken_bpe", "tiny.tiktoken"), Path.Combine(dir, file));
        // As the checkpoints ship it: the class (remote code), no pat_str, no added_tokens_decoder.
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), tokenizerClass == null ? "{}" : $$"""{"tokenizer_class": "{{tokenizerClass}}", "eos_token": "<|eos|>"}""");
        return dir;
    }

    [Theory]
    [InlineData("hy.tiktoken", "HYTokenizer", "<|startoftext|>")]
    [InlineData("hy.tiktoken", null, "<|startoftext|>")]
    [InlineData("qwen.tiktoken", "QWenTokenizer", "<|im_start|>")]
    public void DigitsOneByOneAndSpecialTokensAfterTheRanks(string file, string? cls, string second)
    {
        var tok = HfTokenizer.Load(Dir(file, cls));
        Assert.Contains("'s pattern and special tokens", tok.Source);
        // The tiny vocabulary's ranks 0-255 are the bytes; 556 ranks in all, so the special tokens start at 556.
        // "10" is a rank of its own (388), which Llama 3's \p{N}{1,3} reaches and single digits never do.
        Assert.Equal([(int)'1', '0', '0'], tok.Encode("100", addSpecialTokens: false));
        Assert.Equal([388, '0'], HfTokenizer.Load(Dir("other.tiktoken", null)).Encode("100", addSpecialTokens: false));
        Assert.Equal([556, 557, 556 + (file == "hy.tiktoken" ? 5 : 3) + 204], tok.Encode("<|endoftext|>" + second + "<|extra_204|>", addSpecialTokens: false));
        // NFC first: a decomposed "é" tokenizes as the composed one.
        Assert.Equal(tok.Encode("caf\u00e9", addSpecialTokens: false), tok.Encode("cafe\u0301", addSpecialTokens: false));
    }

    public void Dispose()
    {
        try { Directory.Delete(_tmp, recursive: true); } catch (IOException) { }
    }
}
