using System.Text.Json;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>One input of a pooling fixture with transformers' outputs: last_hidden_state [T][H] (base models) or logits (classifiers).</summary>
public sealed record PoolingFixtureInput(int[] InputIds, float[][]? LastHiddenState, float[]? Logits);

/// <summary>Tiny random pooling models made by scripts/fixtures/make_pooling_fixtures.py and transformers' outputs for them.</summary>
public static class PoolingFixture
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling");
    public static string Dir(string name) => Path.Combine(Root, name);

    public static readonly string[] BaseVariants = ["bert", "roberta", "qwen3-embed", "llama-embed", "qwen2-embed", "gemma2-embed", "modernbert", "gritlm"];
    public static readonly string[] ClassifierVariants = ["bert-cls3", "roberta-cls2", "xlm-roberta-score", "qwen3-cls2", "gpt2-cls3", "qwen3-reranker",
        "qwen2-mxbai-rerank", "qwen2-tokens3", "gemma-reranker", "modernbert-cls2", "jamba-cls2"];

    public static IEnumerable<object[]> Base() => BaseVariants.Select(v => new object[] { v });
    public static IEnumerable<object[]> Classifiers() => ClassifierVariants.Select(v => new object[] { v });
    public static IEnumerable<object[]> All() => BaseVariants.Concat(ClassifierVariants).Select(v => new object[] { v });

    public static List<PoolingFixtureInput> Expected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(name), "expected.json")));
        return doc.RootElement.GetProperty("inputs").EnumerateArray().Select(e => new PoolingFixtureInput(
            e.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            e.TryGetProperty("last_hidden_state", out var h) ? h.EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray() : null,
            e.TryGetProperty("logits", out var l) ? l.EnumerateArray().Select(x => x.GetSingle()).ToArray() : null)).ToList();
    }
}

public static class Vec
{
    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    public static double Norm(float[] a) => Math.Sqrt(a.Sum(x => (double)x * x));

    public static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
    }
}
