using System.Net;
using System.Text;
using System.Text.Json;
using Pipeline.Models.Tests.Pooling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Tests;

static class PoolingFixtures
{
    public static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling", name);

    public static async Task<JsonElement> Post(ServerFixture server, string path, string json)
    {
        var r = await server.Http.PostAsync(server.BaseUrl + path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    public static JsonElement Expected(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(name), "expected.json"))).RootElement;

    public static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}

/// <summary>The llama-embed weights as a LlamaForCausalLM checkpoint, served with --runner pooling --convert embed.</summary>
public sealed class ConvertedLlamaServer : ServerFixture
{
    static readonly Lazy<string> Dir = new(() => CausalLmCheckpoint.FromBase(PoolingFixtures.Dir("llama-embed")));
    public override string ModelDir => Dir.Value;
    protected override string[] ServeArgs => ["--dtype", "float32", "--runner", "pooling", "--convert", "embed"];
}

public class ConvertedServerTests(ConvertedLlamaServer server) : IClassFixture<ConvertedLlamaServer>
{
    [Fact]
    public async Task EmbeddingsAreTheNormalizedLastHiddenStatesOfTransformers()
    {
        var inputs = PoolingFixtures.Expected("llama-embed").GetProperty("inputs").EnumerateArray().ToList();
        var ids = inputs.Select(e => PoolingFixtures.Ints(e.GetProperty("input_ids"))).ToList();
        var r = await PoolingFixtures.Post(server, "/v1/embeddings", JsonSerializer.Serialize(new { input = ids }));
        var data = r.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(inputs.Count, data.Count);
        for (int i = 0; i < inputs.Count; i++)
        {
            var last = inputs[i].GetProperty("last_hidden_state").EnumerateArray().Last().EnumerateArray().Select(x => x.GetDouble()).ToArray();
            double norm = Math.Sqrt(last.Sum(x => x * x));
            var got = data[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.Equal(last.Length, got.Length);
            for (int j = 0; j < got.Length; j++) Assert.True(Math.Abs(got[j] - last[j] / norm) <= 1e-4, $"input {i} dim {j}: {got[j]} vs {last[j] / norm}");
        }
        Assert.Equal(ids.Sum(x => x.Length), r.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }
}

/// <summary>Qwen2ForRewardModel served: /pooling gives transformers' per-token rewards.</summary>
public sealed class RewardServer : ServerFixture
{
    public override string ModelDir => PoolingFixtures.Dir("qwen2-reward");
    protected override string[] ServeArgs => ["--dtype", "float32"];
}

public class RewardServerTests(RewardServer server) : IClassFixture<RewardServer>
{
    [Fact]
    public async Task PoolingReturnsPerTokenRewards()
    {
        var inputs = PoolingFixtures.Expected("qwen2-reward").GetProperty("inputs").EnumerateArray().ToList();
        var ids = inputs.Select(e => PoolingFixtures.Ints(e.GetProperty("input_ids"))).ToList();
        var r = await PoolingFixtures.Post(server, "/pooling", JsonSerializer.Serialize(new { input = ids }));
        var data = r.GetProperty("data").EnumerateArray().ToList();
        for (int i = 0; i < inputs.Count; i++)
        {
            var want = inputs[i].GetProperty("rewards").EnumerateArray().Select(t => t[0].GetDouble()).ToArray();
            var got = data[i].GetProperty("data").EnumerateArray().Select(t => t[0].GetDouble()).ToArray();
            Assert.Equal(want.Length, got.Length);
            for (int t = 0; t < want.Length; t++) Assert.True(Math.Abs(want[t] - got[t]) <= 1e-4, $"input {i} token {t}: {got[t]} vs {want[t]}");
        }
    }
}

/// <summary>A BERT cross-encoder with the real bert-base-uncased WordPiece tokenizer, served: /score and /rerank from text.</summary>
public sealed class CrossEncoderServer : ServerFixture
{
    public override string ModelDir => PoolingFixtures.Dir("bert-cross-encoder");
    protected override string[] ServeArgs => ["--dtype", "float32"];
}

public class CrossEncoderServerTests(CrossEncoderServer server) : IClassFixture<CrossEncoderServer>
{
    static readonly List<JsonElement> Pairs = PoolingFixtures.Expected("bert-cross-encoder").GetProperty("pairs").EnumerateArray().ToList();

    /// <summary>vLLM's cross-encoder score for a one-label head is the sigmoid of transformers' logit.</summary>
    static double Sigmoid(JsonElement pair) => 1 / (1 + Math.Exp(-pair.GetProperty("score").GetDouble()));

    [Fact]
    public void PairsTokenizeAsTransformersDid()
    {
        var tok = HfTokenizer.Load(PoolingFixtures.Dir("bert-cross-encoder"));
        foreach (var p in Pairs)
        {
            var (ids, types) = tok.EncodePair(p.GetProperty("query").GetString()!, p.GetProperty("document").GetString()!);
            Assert.Equal(PoolingFixtures.Ints(p.GetProperty("input_ids")), ids);
            Assert.Equal(PoolingFixtures.Ints(p.GetProperty("token_type_ids")), types);
        }
    }

    [Fact]
    public async Task ScoreMatchesTransformers()
    {
        foreach (var group in Pairs.GroupBy(p => p.GetProperty("query").GetString()!))
        {
            var docs = group.Select(p => p.GetProperty("document").GetString()!).ToList();
            var r = await PoolingFixtures.Post(server, "/score", JsonSerializer.Serialize(new { text_1 = group.Key, text_2 = docs }));
            var scores = r.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("score").GetDouble()).ToArray();
            var want = group.ToList();
            for (int i = 0; i < want.Count; i++)
                Assert.True(Math.Abs(scores[i] - Sigmoid(want[i])) <= 1e-4, $"'{group.Key}' / '{docs[i]}': {scores[i]} vs {Sigmoid(want[i])}");
            Assert.Equal(want.Sum(p => p.GetProperty("input_ids").GetArrayLength()), r.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }
    }

    [Fact]
    public async Task RerankOrdersByTheTransformersScores()
    {
        foreach (var group in Pairs.GroupBy(p => p.GetProperty("query").GetString()!))
        {
            var want = group.ToList();
            var docs = want.Select(p => p.GetProperty("document").GetString()!).ToList();
            var r = await PoolingFixtures.Post(server, "/v1/rerank", JsonSerializer.Serialize(new { query = group.Key, documents = docs }));
            var results = r.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(docs.Count, results.Count);
            foreach (var x in results)
            {
                int i = x.GetProperty("index").GetInt32();
                Assert.True(Math.Abs(x.GetProperty("relevance_score").GetDouble() - Sigmoid(want[i])) <= 1e-4, $"document {i}");
                Assert.Equal(docs[i], x.GetProperty("document").GetProperty("text").GetString());
            }
            var order = results.Select(x => x.GetProperty("index").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, docs.Count).OrderByDescending(i => Sigmoid(want[i])).ToList(), order);
        }
    }
}
