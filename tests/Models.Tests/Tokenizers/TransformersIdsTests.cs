using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>
/// tokenizer.model and tiktoken fixtures against transformers 5's own tokenizer classes on the same files
/// (transformers_ids.json, scripts/fixtures/make_sp_transformers_ids.py on the GPU machine): its sentencepiece-backed
/// (slow) tokenizer for tokenizer.model, its loading of a tiktoken tokenizer.model, and tiktoken run as Hunyuan's and
/// Qwen 1's remote tokenizers run it.
/// </summary>
public sealed class TransformersIdsTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("hfids").FullName;

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers-sp", name);

    static JsonElement Root(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixture(name), "transformers_ids.json"))).RootElement;

    static int[]? Ids(JsonElement c, string key) =>
        c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;

    static string Show(int[] ids) => "[" + string.Join(",", ids) + "]";

    /// <summary>A directory holding the fixture's tokenizer file under <paramref name="file"/> and the given config.</summary>
    string Dir(string name, string sourceFile, string file, JsonObject config)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_tmp, Guid.NewGuid().ToString("n"))).FullName;
        File.Copy(Path.Combine(Fixture(name), sourceFile), Path.Combine(dir, file));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        return dir;
    }

    static JsonObject Config(string name, string file = "tokenizer_config.json") =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(name), file)))!.AsObject();

    /// <summary>Every case's ids, with and without special tokens, against one transformers loader.</summary>
    static void AllMatch(HfTokenizer tok, JsonElement root, string key, bool withSpecial = true)
    {
        var failures = new List<string>();
        int compared = 0;
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            var plain = Ids(c, key + "_ids_no_special");
            Assert.True(plain != null, $"transformers recorded no ids for {JsonSerializer.Serialize(text)} under {key}");
            compared++;
            var got = tok.Encode(text, addSpecialTokens: false);
            if (!got.SequenceEqual(plain!)) failures.Add($"{JsonSerializer.Serialize(text)}: {Show(got)} != transformers {Show(plain!)}");
            if (withSpecial && Ids(c, key + "_ids") is int[] full && !tok.Encode(text).SequenceEqual(full))
                failures.Add($"with special tokens {JsonSerializer.Serialize(text)}: {Show(tok.Encode(text))} != transformers {Show(full)}");
        }
        Assert.True(compared >= 40, $"only {compared} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} cases differ from {key}:\n" + string.Join("\n", failures));
    }

    /// <summary>The loader recorded under KEY must be transformers' sentencepiece-backed (slow) class, not a fast rebuild.</summary>
    static void AssertSentencePieceBackend(JsonElement root, string key)
    {
        Assert.True(root.TryGetProperty(key + "_meta", out var meta), $"transformers could not load {key}: {(root.TryGetProperty(key + "_error", out var e) ? e.GetString() : "?")}");
        Assert.False(meta.GetProperty("is_fast").GetBoolean());
        Assert.Contains("SentencePieceBackend", meta.GetProperty("mro").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void T5UnigramMatchesTransformersSentencePieceBackend()
    {
        // transformers 5.17's AutoTokenizer ignores backend="sentencepiece" (T5Tokenizer is a fast class now); its
        // sentencepiece-backed class is SentencePieceBackend itself, which adds no eos: ids are compared without special
        // tokens, and T5's trailing </s> with special tokens against the fast T5Tokenizer's ids.
        var root = Root("sp_unigram");
        AssertSentencePieceBackend(root, "hf_spb_direct");
        var tok = HfTokenizer.Load(Dir("sp_unigram", "tokenizer.model", "tokenizer.model", Config("sp_unigram")));
        AllMatch(tok, root, "hf_spb_direct", withSpecial: false);
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            if (Ids(c, "hf_auto_ids") is int[] fast && Ids(c, "hf_auto_ids_no_special") is int[] fastPlain && fastPlain.SequenceEqual(Ids(c, "hf_spb_direct_ids_no_special")!))
                Assert.Equal(fast, tok.Encode(text));
        }
    }

    [Fact]
    public void LlamaBpeMatchesTransformersLlamaTokenizer()
    {
        // legacy: false, add_bos_token: true. transformers 5 builds LlamaTokenizer from tokenizer.model as a fast
        // tokenizer; its generic SentencePieceBackend drops the dummy prefix altogether with legacy: false, which no
        // LlamaTokenizer did, so the fast class is the reference here. It agrees with sentencepiece (and so with
        // Pipeline) except where the text starts with whitespace or "▁": there it drops the dummy prefix's "▁",
        // sentencepiece keeps it, and so does Pipeline. Special tokens in text, bos and the prefix only before the
        // first run are transformers' own and are compared in full.
        var root = Root("sp_bpe");
        var tok = HfTokenizer.Load(Dir("sp_bpe", "tokenizer.model", "tokenizer.model", Config("sp_bpe")));
        var failures = new List<string>();
        int compared = 0, leading = 0;
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            var fast = Ids(c, "hf_auto_ids")!;
            if (text.Length > 0 && (char.IsWhiteSpace(text[0]) || text[0] == '\u2581'))
            {
                leading++;
                Assert.Equal(Ids(c, "sp_ids")!.Prepend(1), tok.Encode(text));
                continue;
            }
            compared++;
            if (!tok.Encode(text).SequenceEqual(fast)) failures.Add($"{JsonSerializer.Serialize(text)}: {Show(tok.Encode(text))} != transformers {Show(fast)}");
            if (!tok.Encode(text, addSpecialTokens: false).SequenceEqual(Ids(c, "hf_auto_ids_no_special")!)) failures.Add($"no special {JsonSerializer.Serialize(text)}");
        }
        Assert.True(compared >= 40 && leading <= 7, $"{compared} compared, {leading} with leading whitespace");
        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void TiktokenTokenizerModelMatchesTransformersLoadingIt()
    {
        // Llama 3's original layout: the tiktoken vocabulary as tokenizer.model, special tokens in tokenizer_config.json.
        var root = Root("tiktoken_bpe");
        Assert.True(root.TryGetProperty("hf_tokmodel_meta", out _), root.TryGetProperty("hf_tokmodel_error", out var e) ? e.GetString() : "no hf_tokmodel");
        var tok = HfTokenizer.Load(Dir("tiktoken_bpe", "tiny.tiktoken", "tokenizer.model", Config("tiktoken_bpe")));
        Assert.StartsWith("tokenizer.model (tiktoken", tok.Source);
        AllMatch(tok, root, "hf_tokmodel");
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var ids = Ids(c, "hf_tokmodel_ids")!;
            Assert.Equal(c.GetProperty("hf_tokmodel_decode").GetString(), tok.Decode(ids));
            Assert.Equal(c.GetProperty("hf_tokmodel_decode_skip").GetString(), tok.Decode(ids, skipSpecialTokens: true));
        }
    }

    [Theory]
    [InlineData("hy.tiktoken", "HYTokenizer", "tiktoken_hy")]
    [InlineData("qwen.tiktoken", "QWenTokenizer", "tiktoken_qwen")]
    public void RemoteTiktokenTokenizersMatchTiktokenRunTheirWay(string file, string cls, string key)
    {
        var root = Root("tiktoken_bpe");
        var tok = HfTokenizer.Load(Dir("tiktoken_bpe", "tiny.tiktoken", file, new JsonObject { ["tokenizer_class"] = cls }));
        var failures = new List<string>();
        int n = 0;
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            var expected = Ids(c, key + "_ids");
            Assert.True(expected != null, $"no {key} ids for {JsonSerializer.Serialize(text)}");
            n++;
            var got = tok.Encode(text);
            if (!got.SequenceEqual(expected!)) failures.Add($"{JsonSerializer.Serialize(text)}: {Show(got)} != tiktoken {Show(expected!)}");
        }
        Assert.True(n >= 40 && failures.Count == 0, $"{failures.Count} of {n} differ:\n" + string.Join("\n", failures));
    }

    public void Dispose()
    {
        try { Directory.Delete(_tmp, recursive: true); } catch (IOException) { }
    }
}
