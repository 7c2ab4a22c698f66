using System.Collections.Concurrent;
using System.Text.Json;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>One recorded Hugging Face encode/decode case from tests/fixtures/tokenizers/NAME/expected.json.</summary>
public sealed record FixtureCase(string Text, int[] IdsWithSpecial, int[] IdsWithoutSpecial, string Decode,
    string DecodeWithSpecial, string DecodeSkipSpecial);

public sealed record FixtureFile(int? BosTokenId, int? EosTokenId, int VocabSize, IReadOnlyList<FixtureCase> Cases);

internal static class Fixtures
{
    /// <summary>Real model tokenizers, recorded through transformers.</summary>
    public static readonly string[] RealNames = ["gpt2", "llama2", "llama3_1", "qwen2_5", "qwen3"];

    /// <summary>Small tokenizers built with the tokenizers library (scripts/fixtures/make_synthetic_tokenizer_fixtures.py).</summary>
    public static readonly string[] SyntheticNames =
        ["bert_wordpiece", "bpe_prefix", "bpe_suffix", "bytelevel_split", "metaspace_bytefallback", "unigram_metaspace"];

    public static readonly string[] Names = [.. RealNames, .. SyntheticNames];

    private static readonly ConcurrentDictionary<string, HfTokenizer> Tokenizers = new();
    private static readonly ConcurrentDictionary<string, FixtureFile> Expected = new();

    public static string Dir(string name) =>
        Path.Combine(AppContext.BaseDirectory, "fixtures", RealNames.Contains(name) ? "tokenizers" : "tokenizers-synthetic", name);

    public static HfTokenizer Tokenizer(string name) => Tokenizers.GetOrAdd(name, n => HfTokenizer.Load(Dir(n)));

    public static FixtureFile File(string name) => Expected.GetOrAdd(name, n =>
    {
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(Path.Combine(Dir(n), "expected.json")));
        var root = doc.RootElement;
        var cases = root.GetProperty("cases").EnumerateArray().Select(c => new FixtureCase(
            c.GetProperty("text").GetString()!,
            Ints(c.GetProperty("ids_with_special")),
            Ints(c.GetProperty("ids_without_special")),
            c.GetProperty("decode").GetString()!,
            c.GetProperty("decode_with_special").GetString()!,
            c.GetProperty("decode_skip_special").GetString()!)).ToList();
        return new FixtureFile(OptInt(root.GetProperty("bos_token_id")), OptInt(root.GetProperty("eos_token_id")),
            root.GetProperty("vocab_size").GetInt32(), cases);
    });

    public static FixtureCase Case(string name, int index) => File(name).Cases[index];

    /// <summary>(tokenizer name, case index) for every recorded case.</summary>
    public static TheoryData<string, int> AllCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var n in Names)
            for (int i = 0; i < File(n).Cases.Count; i++) data.Add(n, i);
        return data;
    }

    public static TheoryData<string> AllNames()
    {
        var data = new TheoryData<string>();
        foreach (var n in Names) data.Add(n);
        return data;
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static int? OptInt(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetInt32() : null;
}
